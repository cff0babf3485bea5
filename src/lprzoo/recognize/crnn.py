"""The convolutional recurrent network (paper §III-B, Tables I and VIII) and its registered variants.

Read in order: the :class:`CRNN` module, the private builder, then one small function per registered name.
"""

from __future__ import annotations

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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 48, 160)`` in ``[0, 1]`` -> logits ``(B, T, num_classes)``."""
        x = (images - self.mean) / self.std
        f = self.backbone(x)  # (B, C, 1, T)
        assert f.shape[2] == 1, f"backbone must collapse the height to 1, got {tuple(f.shape)}"
        seq = f.squeeze(2).transpose(1, 2)  # (B, T, C)
        return self.head(seq)  # (B, T, K)


def _num_classes(num_classes: int | None) -> int:
    return num_classes if num_classes is not None else Charset().num_classes


@MODELS.register("crnn")
def crnn(num_classes: int | None = None) -> CRNN:
    """The paper's CRNN: Table I backbone, 2×BiLSTM-256."""
    return CRNN(StandardBackbone(), _num_classes(num_classes))


@MODELS.register("lightcrnn-1.0")
def lightcrnn_1_0(num_classes: int | None = None) -> CRNN:
    """LightCRNN, Table VIII, width multiplier 1.0."""
    return CRNN(DepthwiseBackbone(width_mult=1.0), _num_classes(num_classes))


@MODELS.register("lightcrnn-1.2")
def lightcrnn_1_2(num_classes: int | None = None) -> CRNN:
    """LightCRNN, Table VIII, width multiplier 1.2 (the paper's choice for moving LPR, §IV-G)."""
    return CRNN(DepthwiseBackbone(width_mult=1.2), _num_classes(num_classes))


@MODELS.register("lightcrnn")
def lightcrnn(num_classes: int | None = None, width_mult: float = 1.0) -> CRNN:
    """LightCRNN with any width multiplier, e.g. ``create_model("lightcrnn", width_mult=0.75)``."""
    return CRNN(DepthwiseBackbone(width_mult=width_mult), _num_classes(num_classes))


@MODELS.register("crnn-timm")
def crnn_timm(num_classes: int | None = None, model_name: str = "resnet18", max_stride: int = 8) -> CRNN:
    """Any timm CNN under the paper's sequence head, e.g. ``model_name="mobilenetv3_large_100"``."""
    return CRNN(TimmBackbone(model_name, max_stride), _num_classes(num_classes))


@MODELS.register("crnn-resnet18")
def crnn_resnet18(num_classes: int | None = None) -> CRNN:
    """timm ResNet-18 up to stride 8 (layer2, 128 channels), T = 20."""
    return crnn_timm(num_classes, "resnet18")


@MODELS.register("crnn-mobilenetv3")
def crnn_mobilenetv3(num_classes: int | None = None) -> CRNN:
    """timm MobileNetV3-Large-1.0 up to stride 8 (40 channels), T = 20."""
    return crnn_timm(num_classes, "mobilenetv3_large_100")


@MODELS.register("test-crnn-tiny")
def test_crnn_tiny(num_classes: int | None = None) -> CRNN:
    """A tiny standard CRNN for fast tests."""
    return CRNN(StandardBackbone(width=0.125), _num_classes(num_classes), hidden=16)


@MODELS.register("test-lightcrnn-tiny")
def test_lightcrnn_tiny(num_classes: int | None = None) -> CRNN:
    """A tiny LightCRNN for fast tests."""
    return CRNN(DepthwiseBackbone(width_mult=0.125), _num_classes(num_classes), hidden=16)
