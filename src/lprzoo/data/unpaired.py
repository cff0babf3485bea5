"""``UnpairedPlatesDataModule``: rendered plates (domain S) and real crops (domain R) for the GANs (paper §IV-C).

Each item pairs a freshly rendered plate with a real crop drawn at random, with replacement, as in [44]'s
unaligned dataset: an epoch is ``train_size`` items however few real crops there are (~1,600 here, 4,500 in the
paper).  Like :class:`~lprzoo.data.script.ScriptDataModule`, item ``i`` of epoch ``e`` depends on
``(seed, e, i)`` only, through the index ``e * train_size + i`` of :class:`~lprzoo.render.plates.EpochIndexSampler`.

Both domains are decoded or rendered at the native 48 × 160 and then resized, so they share one resampling path;
the real crops are decoded once, into memory, at ``setup``.
The paper's setting (§IV-C: "scaled to 143 × 143, cropped to 128 × 128 and randomly flipped")::

    data:
      class_path: lprzoo.data.unpaired.UnpairedPlatesDataModule
      init_args: {real: ../shared/data/real/train, size: [128, 128], load_size: [143, 143], flip: true}
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as TF

from lprzoo.batch import INPUT
from lprzoo.charset import Charset
from lprzoo.data.real import PlateImages, Sources
from lprzoo.data.sources import InvalidSampleError, SkipLog, read_source
from lprzoo.render.config import RenderConfig
from lprzoo.render.plates import EpochIndexSampler, ScriptPlates

log = logging.getLogger(__name__)


class GANTransform:
    """``uint8 (3, H, W)`` -> float ``(3, *size)`` in ``[-1, 1]``: resize, optional random crop and flip.

    Args:
        size: output ``(height, width)``.
        load_size: resize to this ``(height, width)`` first, then crop ``size`` at random; ``None``: resize to ``size``.
        flip: mirror horizontally with probability ½.
    """

    def __init__(self, size: tuple[int, int], load_size: tuple[int, int] | None = None, flip: bool = False) -> None:
        if load_size is not None and (load_size[0] < size[0] or load_size[1] < size[1]):
            raise ValueError(f"load_size {tuple(load_size)} must be at least size {tuple(size)} in both dimensions")
        self.size, self.flip = tuple(size), flip
        self.load_size = tuple(load_size) if load_size is not None else None

    def __call__(self, image: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        h, w = self.size
        if self.load_size is None:
            if tuple(image.shape[-2:]) != (h, w):
                image = TF.resize(image, [h, w], antialias=True)
        else:
            image = TF.resize(image, list(self.load_size), antialias=True)  # (3, H_load, W_load)
            top, left = int(rng.integers(self.load_size[0] - h + 1)), int(rng.integers(self.load_size[1] - w + 1))
            image = image[:, top : top + h, left : left + w]  # (3, h, w)
        if self.flip and rng.random() < 0.5:
            image = image.flip(-1)
        return image.float().div(127.5).sub(1.0)  # (3, h, w) in [-1, 1]


class UnpairedPlates(Dataset):
    """Index ``e * length + i`` -> ``{"S": (3, h, w), "S_text": str, "R": (3, h, w)}``, floats in ``[-1, 1]``.

    ``S`` is a rendered plate (left out when ``script`` is ``None``); ``R`` a real crop drawn with replacement.
    """

    def __init__(
        self, length: int, real: PlateImages, script: ScriptPlates | None, transform: GANTransform, seed: int = 0
    ) -> None:
        if script is not None and script.length != length:
            raise ValueError(f"script plates per epoch ({script.length}) must equal length ({length})")
        self.length, self.real, self.script, self.transform, self.seed = length, real, script, transform, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        epoch, i = divmod(int(index), self.length)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, i, 1]))  # not the renderer's stream
        real, _, _ = self.real[int(rng.integers(len(self.real)))]  # uint8 (3, 48, 160)
        item = {"R": self.transform(real, rng)}
        if self.script is not None:
            image, text, _ = self.script[index]
            item |= {"S": self.transform(image, rng), "S_text": text}
        return item


class UnpairedPlatesDataModule(pl.LightningDataModule):
    """Unpaired batches ``{"S": (B, 3, h, w), "R": (B, 3, h, w), "S_text": [str]}`` in ``[-1, 1]`` for
    :class:`~lprzoo.refine.CycleGANModule` (and ``{"R": ...}`` only for :class:`~lprzoo.refine.DCGANModule`).

    Args:
        real: real plate crops (domain R), any source of :class:`~lprzoo.data.real.RealPlatesDataModule` (labels
            are not needed); a list joins several.
        render: how domain S is drawn (:class:`~lprzoo.render.config.RenderConfig`, as the recognizer's data modules
            take it); its ``specs`` default to blue plates: the paper trains one GAN per colour.
        synthetic: render domain S; ``false`` yields real crops only (DCGAN).
        size: ``(height, width)`` of both domains: the plate's native ``(48, 160)`` or the paper's ``(128, 128)``.
        load_size: resize to this first, then crop ``size`` at random (the paper: ``(143, 143)``); unset: no crop.
        flip: random horizontal flip (the paper's augmentation; it mirrors the characters).
        train_size: items per epoch (the paper: 4,500 of each domain).
        skip_invalid: skip and count unusable real files instead of stopping at the first one.
        seed: base seed of renders, real-crop draws, crops and flips.
        batch_size: the paper's (and [44]'s) is 1.
        num_workers: DataLoader worker processes.
    """

    def __init__(
        self,
        real: Sources = None,
        render: RenderConfig = RenderConfig(),  # never mutated: a shared default is safe
        synthetic: bool = True,
        size: tuple[int, int] = INPUT.size,
        load_size: tuple[int, int] | None = None,
        flip: bool = False,
        train_size: int = 4_500,
        skip_invalid: bool = False,
        seed: int = 0,
        batch_size: int = 1,
        num_workers: int = 2,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["render"])
        self.save_hyperparameters({"render": render.to_dict()})  # plain data: checkpoints are read weights_only
        self.render = render
        self.transform = GANTransform(size, load_size, flip)  # checks the sizes now, before any data is read
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.skips = SkipLog(skip_invalid)
        self.train_set: UnpairedPlates | None = None

    def _real_images(self) -> PlateImages:
        sources = self.hparams.real
        if not sources:
            raise ValueError("UnpairedPlatesDataModule: set `real` to a folder of real plate crops (the R domain)")
        samples = []
        for source in [sources] if isinstance(sources, str) else sources:
            if not Path(source).expanduser().exists():
                raise FileNotFoundError(
                    f"UnpairedPlatesDataModule: real-plate folder {source} does not exist "
                    f"(cwd {Path.cwd()}); set `real` to a folder of real crops"
                )
            samples += read_source(source, Charset(), skips=self.skips, labelled=False)
        images = PlateImages(samples, cache=True, skips=self.skips, name="real plates")
        self.skips.report("real plates")
        if len(images) == 0:
            raise InvalidSampleError(str(sources), "no usable real plate images")
        return images

    def setup(self, stage: str) -> None:
        if stage != "fit" or self.train_set is not None:
            return
        hp = self.hparams
        real = self._real_images()
        script = self.render.plates(hp.train_size, hp.seed, {"blue": 1.0})
        self.train_set = UnpairedPlates(hp.train_size, real, script if hp.synthetic else None, self.transform, hp.seed)
        log.info("unpaired: %d real crops, %d items per epoch (%s)", len(real), hp.train_size, self.render.specs)

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup('fit') first"
        return DataLoader(
            self.train_set,
            batch_size=self.batch_size,
            sampler=EpochIndexSampler(self.train_set, self.hparams.seed),
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
