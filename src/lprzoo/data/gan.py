"""``GANGeneratedDataModule``: labelled CycleGAN / CycleWGAN plates for the recognizer (paper §IV-C, §IV-D, §IV-G).

Two sources of the same images:

- ``folder``: the output of ``lprzoo translate`` (``NNNNNNN_<label>.png`` + ``labels.tsv``), read like real crops.
  This is the paper's setting: a fixed set of GAN plates ("200,000 images are randomly cropped to obtain 800,000",
  §IV-C), with a fresh random crop (:class:`RandomPlateCrop`) each time an image is drawn.
- ``generator``: no disk involved; each batch is rendered with :class:`~lprzoo.render.plates.ScriptPlates` and passed
  through the generator(s) on the fly, new plates every epoch.

On-the-fly translation runs **on the CPU inside the DataLoader workers** (in the main process when
``num_workers=0``): each worker loads its own copy of the generators from the checkpoints on first use, and translates
a whole batch per forward (:meth:`TranslatedPlates.__getitems__`).  This keeps the training process (and its GPU, if
any) free and makes item ``i`` of epoch ``e`` a function of ``(seed, e, i)`` and the checkpoints only, whatever the
number of workers or DDP ranks.  Every epoch then pays one ResNet-generator forward per plate, so for several epochs
on a small CPU, ``lprzoo translate`` once and ``folder`` is the faster choice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from jsonargparse import lazy_instance
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchvision.transforms import v2

from lprzoo.batch import INPUT
from lprzoo.data.base import PlateDataModule
from lprzoo.data.real import PlateImages, Sources
from lprzoo.data.sources import InvalidSampleError, Sample, SkipLog, read_source
from lprzoo.refine.generators import MANIFEST, SnapshotTranslator, load_generator, resolve_generators
from lprzoo.render.config import RenderConfig
from lprzoo.render.plates import VAL_EPOCH, EpochIndexSampler, ScriptPlates

log = logging.getLogger(__name__)

Transform = Callable[[Tensor], Tensor]


class RandomPlateCrop(nn.Module):
    """The paper's crop augmentation of GAN plates (§IV-C: 200k images "randomly cropped to obtain 800,000").

    A crop of ``scale`` of the plate's area with a near-plate aspect ratio, resized back to 48 × 160.

    Args:
        scale: range of the cropped area as a fraction of the image.
        ratio: range of the crop's width / height (the plate's is 160 / 48 ≈ 3.33).
    """

    def __init__(self, scale: tuple[float, float] = (0.85, 1.0), ratio: tuple[float, float] = (3.0, 3.67)) -> None:
        super().__init__()
        self.crop = v2.RandomResizedCrop(INPUT.size, scale=scale, ratio=ratio, antialias=True)

    def forward(self, image: Tensor) -> Tensor:
        return self.crop(image)  # uint8 (3, H, W) -> uint8 (3, 48, 160)


class RepeatedImages(Dataset):
    """``length`` items cycling over ``images`` (item ``k`` is image ``k % len(images)``), each freshly transformed.

    ``length = 4 * len(images)`` is the paper's "200,000 [...] randomly cropped to obtain 800,000" per epoch.
    """

    def __init__(self, images: PlateImages, length: int, transform: Transform | None = None) -> None:
        self.images, self.length, self.transform = images, length, transform

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, k: int) -> tuple[Tensor, str, str] | None:
        item = self.images[k % len(self.images)]
        if item is None or self.transform is None:
            return item
        image, text, path = item
        return self.transform(image), text, path


class TranslatedPlates(Dataset):
    """Index ``e * length + i`` -> ``(G_{i % K}(render(seed, e, i)), text, "gan:<spec>:<e>:<i>")``, uint8 (3, 48, 160).

    The label is the render's (§IV-C: GAN plates "acquire the license number [...] from SynthDataset").  Generators
    are loaded lazily in the process that uses them (a DataLoader worker) and are not pickled to the workers.

    Args:
        plates: the rendered plates (``plates.length`` items per epoch).
        checkpoints: the ``K`` ``CycleGANModule`` checkpoints of the snapshot ensemble.
        transform: applied to each translated uint8 image (e.g. :class:`RandomPlateCrop`).
    """

    def __init__(self, plates: ScriptPlates, checkpoints: Sequence[str | Path], transform: Transform | None = None):
        self.plates, self.checkpoints, self.transform = plates, [str(p) for p in checkpoints], transform
        self._translator: SnapshotTranslator | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_translator": None}  # each worker loads its own copy

    @property
    def translator(self) -> SnapshotTranslator:
        if self._translator is None:
            self._translator = SnapshotTranslator([load_generator(p) for p in self.checkpoints]).eval()
        return self._translator

    def __len__(self) -> int:
        return self.plates.length

    @torch.no_grad()
    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Tensor, str, str]]:
        """A batch of items with one generator forward per snapshot (the DataLoader calls this with a batch)."""
        renders = [self.plates[int(index)] for index in indices]  # [(uint8 (3, 48, 160), text, "render:...")]
        images = torch.stack([image for image, _, _ in renders])  # (B, 3, 48, 160) uint8
        within_epoch = torch.tensor([int(index) % self.plates.length for index in indices])  # (B,) -> snapshot i % K
        fakes = self.translator(images, within_epoch)  # (B, 3, 48, 160) uint8
        items = []
        for fake, (_, text, path) in zip(fakes, renders):
            image = self.transform(fake) if self.transform is not None else fake
            items.append((image, text, path.replace("render:", "gan:", 1)))
        return items

    def __getitem__(self, index: int) -> tuple[Tensor, str, str]:
        return self.__getitems__([index])[0]


class GANGeneratedDataModule(PlateDataModule):
    """Labelled GAN plates for training a recognizer, validated and tested on real crops (paper §IV-C, Table IV).

    Set exactly one of ``folder`` and ``generator``.

    Args:
        folder: a ``lprzoo translate`` output folder (``NNNNNNN_<label>.png`` + ``labels.tsv``).
        generator: ``CycleGANModule`` checkpoint(s) or a folder of epoch checkpoints, to translate on the fly.
        snapshots: with a ``generator`` folder, use its last ``K`` epochs; item ``i`` uses snapshot ``i % K`` (§IV-C).
        render: how the plates translated on the fly are drawn (:class:`~lprzoo.render.config.RenderConfig`); its
            ``specs`` default to blue plates (one GAN per colour).
        train_size: items per training epoch. ``folder``: default every image once; ``4 * len(folder)`` gives the
            paper's four random crops per image. ``generator``: new plates per epoch (default 64,000).
        val_size: when ``val`` is unset, validate on this many GAN plates instead: held out of ``folder`` (seeded),
            or a fixed translated set on the fly.
        val: real crops to validate on (any :class:`~lprzoo.data.real.RealPlatesDataModule` source), e.g.
            ``../shared/data/real/val``.
        test: real crops to test on.
        crop: train-only transform of the uint8 GAN plates: the paper's random crop, :class:`RandomPlateCrop`, by
            default (``null``: none; any uint8 transform fits, e.g. :class:`~lprzoo.data.augment.PlateAugment`).
            Not named ``augment`` on purpose: when a recipe switches ``data.class_path`` away from the CLI's default
            ``RealPlatesDataModule``, jsonargparse carries over the default's values of same-named arguments
            (jsonargparse #460), which would silently replace this crop with ``PlateAugment``.
        cache: decode ``folder`` images once into memory at ``setup`` (~23 KB per image).
        skip_invalid: skip and count unusable files instead of stopping at the first one.
        seed: base seed of the renders, the held-out split and the validation plates.
        extra_chars, batch_size, num_workers: see :class:`~lprzoo.data.base.PlateDataModule`.
    """

    def __init__(
        self,
        folder: str | None = None,
        generator: str | list[str] | None = None,
        snapshots: int = 1,
        render: RenderConfig = RenderConfig(),  # never mutated: a shared default is safe
        train_size: int | None = None,
        val_size: int = 1_000,
        val: Sources = None,
        test: Sources = None,
        crop: nn.Module | None = lazy_instance(RandomPlateCrop),
        cache: bool = True,
        skip_invalid: bool = False,
        seed: int = 0,
        extra_chars: str = "",
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(extra_chars, batch_size, num_workers)
        if (folder is None) == (generator is None):
            raise ValueError(
                "GANGeneratedDataModule: set exactly one of `folder` (a `lprzoo translate` output) or `generator` "
                "(CycleGAN checkpoints, translated on the fly)"
            )
        self.save_hyperparameters(ignore=["crop", "render"])
        self.save_hyperparameters({"render": render.to_dict()})  # plain data: checkpoints are read weights_only
        self.render = render
        self.crop = crop
        self.skips = SkipLog(skip_invalid)
        self.datasets: dict[str, Dataset] = {}

    # ---- sources --------------------------------------------------------------------------------------------
    def _read_real(self, sources: Sources, split: str) -> PlateImages:
        paths = [sources] if isinstance(sources, str) else list(sources or [])
        samples = [s for p in paths for s in read_source(p, self.charset, skips=self.skips)]
        images = PlateImages(samples, cache=self.hparams.cache, skips=self.skips, name=split)
        self.skips.report(split)
        if len(images) == 0:
            raise InvalidSampleError(str(sources), f"no usable images for {split}")
        return images

    def _folder_samples(self) -> list[Sample]:
        folder = Path(self.hparams.folder).expanduser()
        command = f"lprzoo translate --generator runs/cyclewgan/checkpoints --snapshots 20 --out {folder}"
        if not folder.is_dir():
            raise FileNotFoundError(f"no GAN image folder at {folder}; produce it with `{command}`")
        if (folder / MANIFEST).is_file() and not (folder / "labels.tsv").is_file():
            raise FileNotFoundError(
                f"{folder} holds an unfinished translation (no labels.tsv yet); rerun the same `lprzoo translate` "
                "command to finish it"
            )
        return read_source(folder, self.charset, skips=self.skips)

    def _setup_folder(self, stage: str) -> None:
        samples = self._folder_samples()
        held_out: list[Sample] = []
        if stage in ("fit", "validate") and not self.hparams.val and self.hparams.val_size:
            order = torch.randperm(len(samples), generator=torch.Generator().manual_seed(self.hparams.seed)).tolist()
            n_val = min(self.hparams.val_size, len(samples) - 1)
            held_out = [samples[i] for i in order[:n_val]]
            samples = [samples[i] for i in sorted(order[n_val:])]
        if stage == "fit":
            images = PlateImages(samples, cache=self.hparams.cache, skips=self.skips, name="GAN plates")
            self.skips.report("GAN plates")
            if len(images) == 0:
                raise InvalidSampleError(self.hparams.folder, "no usable GAN plates")
            length = self.hparams.train_size or len(images)
            self.datasets["train"] = RepeatedImages(images, length, self.crop)
            log.info("GAN plates: %d images from %s, %d items per epoch", len(images), self.hparams.folder, length)
        if held_out:
            self.datasets["val"] = PlateImages(held_out, cache=self.hparams.cache, skips=self.skips, name="val")

    def _setup_generator(self, stage: str) -> None:
        hp = self.hparams
        checkpoints = resolve_generators(hp.generator, hp.snapshots)  # clear error (and command) when missing
        if stage == "fit":
            plates = self.render.plates(hp.train_size or 64_000, hp.seed, {"blue": 1.0})
            self.datasets["train"] = TranslatedPlates(plates, checkpoints, self.crop)
            log.info("GAN plates on the fly: %d per epoch, %d snapshot(s)", plates.length, len(checkpoints))
        if stage in ("fit", "validate") and not hp.val and hp.val_size and "val" not in self.datasets:
            fixed = TranslatedPlates(self.render.plates(hp.val_size, hp.seed, {"blue": 1.0}), checkpoints)
            items = [
                item
                for start in range(0, hp.val_size, self.batch_size)
                for item in fixed.__getitems__(
                    [VAL_EPOCH * hp.val_size + i for i in range(start, min(start + self.batch_size, hp.val_size))]
                )
            ]
            images, texts, paths = zip(*items)
            self.datasets["val"] = PlateImages.from_tensors(torch.stack(images), texts, paths)

    def setup(self, stage: str) -> None:
        hp = self.hparams
        if hp.folder is not None:
            self._setup_folder(stage)
        else:
            self._setup_generator(stage)
        if stage in ("fit", "validate") and hp.val:
            self.datasets["val"] = self._read_real(hp.val, "val")
        if stage == "validate" and "val" not in self.datasets:
            raise ValueError("GANGeneratedDataModule: set `val` (real crops) or `val_size` to run validate")
        if stage == "test":
            if not hp.test:
                raise ValueError("GANGeneratedDataModule: set `test` (real crops) to run test")
            self.datasets["test"] = self._read_real(hp.test, "test")

    # ---- loaders --------------------------------------------------------------------------------------------
    def train_dataloader(self):
        train = self.datasets["train"]
        if isinstance(train, TranslatedPlates):  # new plates every epoch; the sampler shards them over DDP ranks
            return self.loader(train, sampler=EpochIndexSampler(train, self.hparams.seed), drop_last=True)
        return self.loader(train, shuffle=True, drop_last=len(train) > self.batch_size)

    def val_dataloader(self):
        return self.loader(self.datasets["val"]) if "val" in self.datasets else []

    def test_dataloader(self):
        return self.loader(self.datasets["test"])
