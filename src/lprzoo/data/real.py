"""``RealPlatesDataModule``: labelled photographs of plates (crops, labels files or CCPD scenes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
from jsonargparse import lazy_instance
from rich.progress import Progress
from torch.utils.data import Dataset

from lprzoo.batch import INPUT, InputContract
from lprzoo.data.augment import PlateAugment
from lprzoo.data.base import PlateDataModule
from lprzoo.data.images import load_plate
from lprzoo.data.sources import InvalidSampleError, Sample, SkipLog, SourceFormat, read_source
from lprzoo.errors import MissingInputError, check_range

log = logging.getLogger(__name__)


class PlateImages(Dataset):
    """Samples as ``(uint8 (3, H, W), label, path)`` at ``size`` (an input contract's); decoded once into memory when
    ``cache`` is set.

    With ``skip_invalid`` a file that fails to decode yields ``None``, which the collate drops.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        cache: bool = True,
        skips: SkipLog | None = None,
        name: str = "data",
        size: tuple[int, int] = INPUT.size,
    ) -> None:
        self.samples = list(samples)
        self.size = tuple(size)
        self.transform = transform
        self.skips = skips or SkipLog(False)
        self.images: torch.Tensor | None = None
        if cache:
            self._decode_all(name)

    @classmethod
    def from_tensors(cls, images: torch.Tensor, labels: Sequence[str], paths: Sequence[str]) -> PlateImages:
        """Already-decoded ``uint8 (N, 3, H, W)`` images, e.g. a fixed set of rendered plates."""
        dataset = cls([Sample(p, t) for p, t in zip(paths, labels)], cache=False, size=tuple(images.shape[-2:]))
        dataset.images = images
        return dataset

    def _decode_all(self, name: str) -> None:
        def load(s: Sample) -> torch.Tensor | InvalidSampleError:
            try:
                return load_plate(s, *self.size)
            except InvalidSampleError as e:
                return e

        decoded: list[torch.Tensor] = []
        kept: list[Sample] = []
        # PIL releases the GIL while decoding, so threads scale.
        with ThreadPoolExecutor(max_workers=4) as pool, Progress(transient=True) as progress:
            task = progress.add_task(f"decoding {name}", total=len(self.samples))
            for sample, img in zip(self.samples, pool.map(load, self.samples)):
                progress.advance(task)
                if isinstance(img, InvalidSampleError):
                    self.skips.handle(img)
                    continue
                decoded.append(img)
                kept.append(sample)
        self.samples = kept
        self.images = torch.stack(decoded) if decoded else torch.zeros(0, 3, *self.size, dtype=torch.uint8)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str, str] | None:
        sample = self.samples[i]
        if self.images is not None:
            img = self.images[i]
        else:
            try:
                img = load_plate(sample, *self.size)
            except InvalidSampleError as e:
                self.skips.handle(e)
                return None
        if self.transform is not None:
            img = self.transform(img)
        return img, sample.label, sample.path


Sources = str | list[str] | None


class RealPlatesDataModule(PlateDataModule):
    """Real plate crops for training, validation, test and prediction.

    Each of ``train``/``val``/``test``/``predict`` is one source or a list of sources: a folder of crops whose
    file names carry the label (``京A12345.jpg``, ``00012_京A12345.jpg``), a folder holding ``labels.tsv``, a
    TSV/CSV labels file (``filename,label`` or fast-plate-ocr's ``image_path,plate_text``), or a folder of CCPD
    scenes (label and corners in the file name; the plate is rectified by a perspective warp).

    Args:
        train, val, test, predict: the sources of each split. ``predict`` labels are optional.
        val_fraction: when ``val`` is not given, hold out this fraction of ``train`` (seeded by ``split_seed``).
        format: ``auto`` or force ``filename`` / ``labels`` / ``ccpd``.
        augment: train-only augmentation (``null`` for none).
        cache: decode every image once into memory at ``setup`` (fast epochs); off for very large sets.
            ``predict`` always streams: images are decoded in the loader workers, batch by batch.
        skip_invalid: skip and count unusable files instead of stopping at the first one.
        check_plates: reject labels that fit no plate spec (``AB``, ``京A1234``); off for plate kinds with no
            registered spec.
        extra_chars, batch_size, num_workers, contract: see :class:`~lprzoo.data.base.PlateDataModule`.
    """

    def __init__(
        self,
        train: Sources = None,
        val: Sources = None,
        test: Sources = None,
        predict: Sources = None,
        val_fraction: float = 0.0,
        split_seed: int = 0,
        format: SourceFormat = "auto",
        augment: PlateAugment | None = lazy_instance(PlateAugment),
        cache: bool = True,
        skip_invalid: bool = False,
        check_plates: bool = True,
        extra_chars: str = "",
        batch_size: int = 64,
        num_workers: int = 2,
        contract: InputContract = INPUT,
    ) -> None:
        super().__init__(extra_chars, batch_size, num_workers, contract)
        check_range("--data.val_fraction", val_fraction, 0.0, 0.9)
        self.save_hyperparameters(ignore=["augment", "contract"])
        self.save_hyperparameters({"contract": contract.to_dict()})  # plain data: checkpoints are read weights_only
        self.sources = {"train": train, "val": val, "test": test, "predict": predict}
        self.augment = augment
        self.datasets: dict[str, PlateImages] = {}
        self.skips = SkipLog(skip_invalid)  # all splits; each split also keeps its own (`split_skips`)
        self.split_skips: dict[str, SkipLog] = {}

    def _skips(self, split: str) -> SkipLog:
        return self.split_skips.setdefault(split, self.skips.child())

    def _read(self, split: str) -> list[Sample]:
        sources = self.sources[split]
        paths = [sources] if isinstance(sources, str) else list(sources or [])
        samples: list[Sample] = []
        for path in paths:
            samples += read_source(
                path,
                self.charset,
                self.hparams.format,
                self._skips(split),
                split != "predict",
                self.hparams.check_plates,
            )
        return samples

    def _dataset(self, split: str, samples: list[Sample], train: bool = False) -> PlateImages:
        transform = self.augment if train else None
        cache = self.hparams.cache and split != "predict"  # predict streams: flat memory for any number of images
        ds = PlateImages(samples, transform, cache, self._skips(split), name=split, size=self.contract.size)
        self._skips(split).report(split)
        if len(ds) == 0:
            raise InvalidSampleError(str(self.sources[split]), f"no usable images for {split}")
        log.info("%s: %d images", split, len(ds))
        return ds

    def setup(self, stage: str) -> None:
        stage = str(getattr(stage, "value", stage))  # TrainerFn.PREDICTING -> "predict"
        if stage == "fit":
            if not self.sources["train"]:
                raise MissingInputError("RealPlatesDataModule: `train` is required to fit (a folder or a labels file)")
            train = self._read("train")
            if self.sources["val"]:
                val = self._read("val")
            elif self.hparams.val_fraction > 0:
                order = torch.randperm(len(train), generator=torch.Generator().manual_seed(self.hparams.split_seed))
                n_val = max(1, round(len(train) * self.hparams.val_fraction))
                val = [train[i] for i in order[:n_val].tolist()]
                train = [train[i] for i in order[n_val:].tolist()]
            else:
                val = []
            self.datasets["train"] = self._dataset("train", train, train=True)
            if val:
                self.datasets["val"] = self._dataset("val", val)
        elif stage in ("validate", "test", "predict"):
            split = "val" if stage == "validate" else stage
            if not self.sources[split]:
                raise MissingInputError(f"RealPlatesDataModule: set `{split}` (--data.{split} DIR) to run {stage}")
            self.datasets[split] = self._dataset(split, self._read(split))

    def train_dataloader(self):
        return self.loader(
            self.datasets["train"], shuffle=True, drop_last=len(self.datasets["train"]) > self.batch_size
        )

    def val_dataloader(self):
        return self.loader(self.datasets["val"]) if "val" in self.datasets else []

    def test_dataloader(self):
        return self.loader(self.datasets["test"])

    def predict_dataloader(self):
        return self.loader(self.datasets["predict"])
