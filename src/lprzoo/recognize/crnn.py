"""The convolutional recurrent network (paper §III-B, Tables I and VIII), its typed architectures and its
registered variants.

Read in order: the :class:`CRNN` module, the typed :class:`Architecture` settings that build it (what
``CRNNModule(arch=...)`` takes and ``--print_config`` shows), the presets, then the registered names, made from both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from lprzoo.charset import Charset
from lprzoo.recognize.backbones import DepthwiseBackbone, StandardBackbone, TimmBackbone
from lprzoo.registry import MODELS


class SequenceHead(nn.Module):
    """Table I top rows: ``num_layers`` × BiLSTM(hidden) then a linear layer onto the classes."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        self.rnn = nn.LSTM(in_features, hidden, num_layers=num_layers, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden, num_classes)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(seq)  # (B, T, 2*hidden)
        return self.fc(out)  # (B, T, num_classes)


class CRNN(nn.Module):
    """CNN backbone -> feature sequence -> 2×BiLSTM-256 -> per-step class logits (paper §III-B).

    Args:
        backbone: maps ``(B, 3, 48, 160)`` to ``(B, C, 1, T)`` and exposes ``out_channels``.
        num_classes: characters + CTC blank (68 for the paper's alphabet).
        hidden: LSTM hidden units per direction (256, Table I).
        mean, std: input normalisation, applied inside the model so exported graphs take ``[0, 1]`` images.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_classes: int = 68,
        hidden: int = 256,
        mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
        std: tuple[float, float, float] = (0.5, 0.5, 0.5),
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = SequenceHead(backbone.out_channels, num_classes, hidden)
        self.num_classes = num_classes
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.kind_head: nn.Linear | None = None

    def attach_kind_head(self, num_colours: int, num_rows: int) -> CRNN:
        """Add the plate-kind head: colour and rows logits from the time-averaged backbone features."""
        self.kind_head = nn.Linear(self.backbone.out_channels, num_colours + num_rows)
        self.kind_split = num_colours
        return self

    def set_normalisation(self, mean: tuple[float, float, float], std: tuple[float, float, float]) -> None:
        """Normalise inputs by ``mean``/``std`` (a record's input contract, :class:`~lprzoo.batch.InputContract`)."""
        self.mean.copy_(torch.tensor(mean, dtype=self.mean.dtype).view(1, 3, 1, 1))
        self.std.copy_(torch.tensor(std, dtype=self.std.dtype).view(1, 3, 1, 1))

    def forward(
        self, images: torch.Tensor, with_kind: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, 48, 160)`` in ``[0, 1]`` -> logits ``(B, T, num_classes)``; with ``with_kind`` also the kind head's
        logits ``(B, colours + rows)`` (zeros ``(B, 0)`` for a network without one)."""
        x = (images - self.mean) / self.std
        f = self.backbone(x)  # (B, C, 1, T)
        assert f.shape[2] == 1, f"backbone must collapse the height to 1, got {tuple(f.shape)}"
        seq = f.squeeze(2).transpose(1, 2)  # (B, T, C)
        logits = self.head(seq)  # (B, T, K)
        if not with_kind:
            return logits
        if self.kind_head is None:
            return logits, logits.new_zeros(logits.shape[0], 0)
        return logits, self.kind_head(seq.mean(1))  # (B, T, K), (B, colours + rows)


def _num_classes(num_classes: int | None) -> int:
    return num_classes if num_classes is not None else Charset().num_classes


# ---- typed architectures ----------------------------------------------------------------------------------------
class Architecture:
    """A recognizer architecture as typed settings, chosen by ``class_path`` in a recipe, e.g.
    ``arch: {class_path: lprzoo.LightCRNNArch, init_args: {width_mult: 0.5}}``.

    Subclasses are frozen dataclasses of plain values.  :meth:`build` makes the network; :meth:`registry_call` names
    the registered builder call that makes the same network, which is what checkpoints and zoo records store
    (``arch`` + ``arch_kwargs``: plain data, read without unpickling anything).
    """

    builder: ClassVar[str]  # the registered name that takes this class's fields as keyword arguments

    def build(self, num_classes: int | None = None) -> CRNN:
        """A randomly initialised network; ``num_classes`` defaults to the paper's 68."""
        raise NotImplementedError

    def registry_call(self) -> tuple[str, dict[str, Any]]:
        """``(name, kwargs)`` with ``MODELS.get(name)(num_classes=K, **kwargs)`` building this network: a registered
        name without arguments where one matches (``("lightcrnn-1.2", {})``, so such records never change), else the
        family's builder with every field (``("lightcrnn", {"width_mult": 0.5, "hidden": 256})``)."""
        for name, preset in PRESETS.items():
            if preset == self:
                return name, {}
        return self.builder, asdict(self)

    def config(self) -> dict[str, Any]:
        """The ``class_path`` + ``init_args`` form that a recipe or ``--model.init_args.arch`` takes."""
        cls = type(self)
        return {"class_path": f"{cls.__module__}.{cls.__qualname__}", "init_args": asdict(self)}


@dataclass(frozen=True)
class StandardCRNNArch(Architecture):
    """The paper's CRNN (Table I backbone, 2×BiLSTM): ``width`` scales every convolution's channels."""

    builder: ClassVar[str] = "crnn"
    width: float = 1.0
    hidden: int = 256

    def build(self, num_classes: int | None = None) -> CRNN:
        return CRNN(StandardBackbone(width=self.width), _num_classes(num_classes), hidden=self.hidden)


@dataclass(frozen=True)
class LightCRNNArch(Architecture):
    """LightCRNN (Table VIII): depthwise-separable backbone with width multiplier α (Eq. 17), 2×BiLSTM."""

    builder: ClassVar[str] = "lightcrnn"
    width_mult: float = 1.0
    hidden: int = 256

    def build(self, num_classes: int | None = None) -> CRNN:
        return CRNN(DepthwiseBackbone(width_mult=self.width_mult), _num_classes(num_classes), hidden=self.hidden)


@dataclass(frozen=True)
class TimmCRNNArch(Architecture):
    """Any timm CNN, cut at stride ``max_stride``, under the paper's sequence head (beyond the paper)."""

    builder: ClassVar[str] = "crnn-timm"
    model_name: str = "resnet18"
    max_stride: int = 8
    hidden: int = 256

    def build(self, num_classes: int | None = None) -> CRNN:
        return CRNN(TimmBackbone(self.model_name, self.max_stride), _num_classes(num_classes), hidden=self.hidden)


FAMILIES: dict[str, type[Architecture]] = {cls.builder: cls for cls in (StandardCRNNArch, LightCRNNArch, TimmCRNNArch)}

# Registered names without arguments, as typed architectures (tests/recognize/test_crnn.py checks that each builds
# the same network as its registered function below).
PRESETS: dict[str, Architecture] = {
    "crnn": StandardCRNNArch(),
    "lightcrnn-1.0": LightCRNNArch(width_mult=1.0),
    "lightcrnn-1.2": LightCRNNArch(width_mult=1.2),
    "crnn-resnet18": TimmCRNNArch(model_name="resnet18"),
    "crnn-mobilenetv3": TimmCRNNArch(model_name="mobilenetv3_large_100"),
    "test-crnn-tiny": StandardCRNNArch(width=0.125, hidden=16),
    "test-lightcrnn-tiny": LightCRNNArch(width_mult=0.125, hidden=16),
}


def architecture(name: str, kwargs: Mapping[str, Any] | None = None) -> Architecture | None:
    """The typed architecture that ``MODELS.get(name)(**kwargs)`` builds (a record's ``arch`` + ``arch_kwargs``),
    or ``None`` for a name registered without one (a plugin's builder).

    Raises:
        TypeError: ``kwargs`` that the architecture does not take.
    """
    if not kwargs and name in PRESETS:
        return PRESETS[name]
    family = FAMILIES.get(name)
    return family(**(kwargs or {})) if family is not None else None


def canonical_call(arch: Architecture | str, kwargs: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """``(name, kwargs)`` of a typed architecture or a registered name, normalised so that equal networks give
    equal calls: ``"lightcrnn"`` with ``{"width_mult": 1.2}``, ``"lightcrnn-1.2"`` and ``LightCRNNArch(width_mult=1.2)``
    all give ``("lightcrnn-1.2", {})``.  Names without a typed architecture come back unchanged."""
    if isinstance(arch, Architecture):
        return arch.registry_call()
    try:
        typed = architecture(arch, kwargs)
    except TypeError:  # arguments the builder does not take: nothing to normalise
        typed = None
    return typed.registry_call() if typed is not None else (arch, dict(kwargs or {}))


def arch_argument(name: str, kwargs: Mapping[str, Any] | None = None) -> str:
    """The value of ``--model.init_args.arch`` for a record's ``arch`` + ``arch_kwargs``: the registered name, or
    its typed architecture as JSON ``class_path`` + ``init_args`` when it has arguments."""
    typed = architecture(name, kwargs) if kwargs else None
    return json.dumps(typed.config()) if typed is not None else name


# ---- registered names -------------------------------------------------------------------------------------------
# Each family registers its builder under its family name, taking the architecture's fields as keyword arguments
# (``create_model("lightcrnn", width_mult=0.75)``); each preset registers a builder without arguments.  Both are
# made from the typed architectures above, so a preset is declared once, in PRESETS.
PRESET_HELP = {
    "crnn": "The paper's CRNN: Table I backbone, 2×BiLSTM-256; ``width`` scales the backbone's channels.",
    "lightcrnn-1.0": "LightCRNN, Table VIII, width multiplier 1.0.",
    "lightcrnn-1.2": "LightCRNN, Table VIII, width multiplier 1.2 (the paper's choice for moving LPR, §IV-G).",
    "crnn-resnet18": "timm ResNet-18 up to stride 8 (layer2, 128 channels), T = 20.",
    "crnn-mobilenetv3": "timm MobileNetV3-Large-1.0 up to stride 8 (40 channels), T = 20.",
    "test-crnn-tiny": "A tiny standard CRNN for fast tests.",
    "test-lightcrnn-tiny": "A tiny LightCRNN for fast tests.",
}
FAMILY_HELP = {
    "crnn": PRESET_HELP["crnn"],
    "lightcrnn": 'LightCRNN with any width multiplier, e.g. ``create_model("lightcrnn", width_mult=0.75)``.',
    "crnn-timm": 'Any timm CNN under the paper\'s sequence head, e.g. ``model_name="mobilenetv3_large_100"``.',
}


def _family_builder(family: type[Architecture]) -> Callable[..., CRNN]:
    def build(num_classes: int | None = None, **fields: Any) -> CRNN:
        return family(**fields).build(num_classes)

    build.__doc__ = FAMILY_HELP[family.builder]
    return build


def _preset_builder(arch: Architecture, help: str) -> Callable[..., CRNN]:
    def build(num_classes: int | None = None) -> CRNN:
        return arch.build(num_classes)

    build.__doc__ = help
    return build


for _family in FAMILIES.values():
    MODELS.register(_family.builder)(_family_builder(_family))
for _name, _arch in PRESETS.items():
    if _name not in FAMILIES:  # "crnn" is both: its family builder with the defaults is the preset
        MODELS.register(_name)(_preset_builder(_arch, PRESET_HELP[_name]))
