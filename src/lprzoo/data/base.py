"""What every recognizer data module shares: the charset, batching and loaders."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from lprzoo.batch import INPUT, InputContract, PlateBatch, PlateCollate
from lprzoo.charset import Charset
from lprzoo.errors import check_range
from lprzoo.kinds import UNKNOWN, PlateKind, colour_by_hue, kind_of_label


def item_kind(image: torch.Tensor, text: str, path: str) -> tuple[int, int]:
    """An item's ``(colour, rows)`` class indices: a render's from its spec (exact, its path names it), a photo's
    from its label and hue (:mod:`lprzoo.kinds`; ``-1`` when neither decides, or when the hue says white or black,
    which for a photo mostly means washed out or dark).  Photos are read as one
    row: the data modules do not split training crops."""
    if path.startswith("render:"):
        from lprzoo.render.specs import get_spec

        return get_spec(path.split(":")[1]).kind.indices()
    if not text:
        return UNKNOWN, UNKNOWN
    colour = kind_of_label(text) or colour_by_hue(image.permute(1, 2, 0).numpy())  # (H, W, 3)
    if colour in ("white", "black") and kind_of_label(text) is None:
        colour = None  # a washed-out or dark photo looks white or black by hue: renders teach those colours exactly
    return PlateKind(colour or "unknown").indices()


class PlateDataModule(pl.LightningDataModule):
    """Base class: yields :class:`~lprzoo.batch.PlateBatch` batches encoded with ``charset``.

    Args:
        extra_chars: characters beyond the paper's 67; linked to ``model.extra_chars`` by the CLI.
        batch_size: plates per batch (per device under DDP).
        num_workers: DataLoader worker processes.
        contract: the input contract the plates are made at (size, layout); linked to ``model.contract`` by the
            CLI, so a model is trained at the contract its record will carry.
    """

    def __init__(
        self, extra_chars: str = "", batch_size: int = 64, num_workers: int = 2, contract: InputContract = INPUT
    ) -> None:
        super().__init__()
        self.contract = contract
        check_range("--data.batch_size", batch_size, 1)
        check_range("--data.num_workers", num_workers, 0)
        self.charset = Charset(extra_chars)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.collate = PlateCollate(self.charset)

    def _collate(self) -> PlateCollate:
        """The collate of this run: with each item's kind only for a model with a kind head (the look of every photo
        would otherwise be computed in the loaders for nothing)."""
        model = self.trainer.lightning_module if self.trainer is not None else None
        if model is not None and model.hparams.get("kind_head"):
            return PlateCollate(self.charset, item_kind)
        return self.collate

    def loader(
        self, dataset: Dataset, shuffle: bool = False, drop_last: bool = False, sampler: Sampler | None = None
    ) -> DataLoader[PlateBatch]:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=self._collate(),
            pin_memory=False,
        )
