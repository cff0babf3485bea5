"""The input contract and the typed batch every recognizer data module yields.

A dataset item is ``(image, text)``: a ``uint8`` tensor ``(3, H, W)`` and its label (``""`` when unlabelled,
e.g. for ``predict``).  :class:`PlateCollate` stacks items into a :class:`PlateBatch`, encoding labels with the
charset so that CTC targets are built once, in the loader workers, not in the training step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from lprzoo.charset import Charset
from lprzoo.layout import LAYOUTS, splits_rows


@dataclass(frozen=True)
class InputContract:
    """What a recognizer takes: ``(B, 3, height, width)`` RGB floats in ``value_range``, normalised inside the model
    by ``mean``/``std``.  Declared once here; it travels with trained weights (:mod:`lprzoo.weights`).

    Paper §III-B: "images are resized to 160 × 48 × 3 before fed to networks".

    ``layout`` says how a plate becomes that image (:mod:`lprzoo.layout`): ``"single"`` resizes every crop whole;
    ``"rows"`` places a double-row plate's rows side by side, top row first, and reads a crop narrower than
    ``double_row_aspect`` (width / height) both ways, keeping the more confident reading; ``"rows-tight"`` (the
    default) does the same with the top row trimmed to its text.  Records saved before layouts existed read as
    ``"single"``.
    """

    height: int = 48
    width: int = 160
    channels: str = "RGB"
    value_range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    layout: str = LAYOUTS[-1]
    double_row_aspect: float = 2.6

    @property
    def splits_rows(self) -> bool:
        """Whether a double-row plate's rows go side by side (:func:`lprzoo.layout.splits_rows`)."""
        return splits_rows(self.layout)

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)``."""
        return self.height, self.width

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    def __post_init__(self) -> None:
        if not (isinstance(self.height, int) and isinstance(self.width, int) and self.height >= 8 and self.width >= 8):
            raise ValueError(f"input size must be at least 8 x 8 pixels, got {self.height} x {self.width}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"mean and std need 3 values each, std > 0; got {self.mean}, {self.std}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")

    @classmethod
    def from_dict(cls, d: dict) -> InputContract:
        """A saved contract; one saved before layouts existed is ``"single"`` (its model never saw split rows)."""
        return cls(**{"layout": "single", **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}})


INPUT = InputContract()  # the default contract: every path that has no record of its own reads this one


@dataclass
class PlateBatch:
    """A batch of plate crops.

    Attributes:
        images: ``(B, 3, H, W)`` float32 in ``[0, 1]``.
        texts: the labels, ``""`` for unlabelled images.
        targets: ``(B, L_max)`` class indices padded with the blank (0).
        target_lengths: ``(B,)`` label lengths.
        paths: where each image came from (file name, or ``render:<spec>:<epoch>:<index>``), for predictions and
            error reports.
        kinds: ``(B, 2)`` colour and rows class indices (:mod:`lprzoo.kinds`; ``-1`` unknown), when the data module
            knows them.
    """

    images: torch.Tensor
    texts: list[str]
    targets: torch.Tensor
    target_lengths: torch.Tensor
    paths: list[str] = field(default_factory=list)
    kinds: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def from_source(self, source: str) -> torch.Tensor:
        """``(B,)`` bool: the items whose path says they came from ``source`` (``pseudo:<file>``, ``render:...``)."""
        tagged = [path.startswith(f"{source}:") for path in self.paths]
        return torch.tensor(tagged or [False] * len(self), dtype=torch.bool)

    def to(self, device: torch.device | str) -> PlateBatch:
        return PlateBatch(
            self.images.to(device, non_blocking=True),
            self.texts,
            self.targets.to(device, non_blocking=True),
            self.target_lengths.to(device, non_blocking=True),
            self.paths,
            None if self.kinds is None else self.kinds.to(device, non_blocking=True),
        )


class PlateCollate:
    """Collate ``(uint8 image, text[, path])`` items into a :class:`PlateBatch`.

    ``None`` items (skipped invalid files, see ``skip_invalid``) are dropped.  ``kind_of(image, text, path)`` gives
    each item's ``(colour, rows)`` class indices (the data modules pass one, :func:`lprzoo.data.base.item_kind`).
    """

    def __init__(self, charset: Charset, kind_of: Callable[[torch.Tensor, str, str], tuple[int, int]] | None = None):
        self.charset = charset
        self.kind_of = kind_of

    def __call__(self, items: Sequence[tuple | None]) -> PlateBatch:
        items = [it for it in items if it is not None]
        if not items:
            empty = torch.zeros(0, 3, INPUT.height, INPUT.width)
            return PlateBatch(empty, [], torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, dtype=torch.long))
        images = torch.stack([it[0] for it in items]).float().div_(255.0)  # (B, 3, H, W)
        texts = [it[1] for it in items]
        paths = [it[2] if len(it) > 2 else "" for it in items]
        targets, lengths = self.charset.encode_batch(texts)
        kinds = None
        if self.kind_of is not None:
            kinds = torch.tensor([self.kind_of(it[0], t, p) for it, t, p in zip(items, texts, paths)], dtype=torch.long)
        return PlateBatch(images, texts, targets, lengths, paths, kinds)
