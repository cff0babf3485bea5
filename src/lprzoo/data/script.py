"""``ScriptDataModule``: plates rendered on the fly in the loader workers (paper §IV-C, "Synthetic data").

Every epoch shows new plates and every plate is reproducible: item ``i`` of epoch ``e`` is drawn from
``SeedSequence([seed, e, i])`` (:func:`lprzoo.render.item_rng`), so the images do not depend on the number of
workers or processes.  The epoch travels inside the index: :class:`EpochIndexSampler` yields ``e * length + i``
and is a ``DistributedSampler``, so Lightning calls its ``set_epoch`` and shards it across DDP ranks as is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler

from lprzoo.data.base import PlateDataModule
from lprzoo.data.real import PlateImages, Sources
from lprzoo.data.sources import read_source
from lprzoo.registry import DATAMODULES
from lprzoo.render import PlateRenderer, estimate_province_weights, item_rng

VAL_EPOCH = 2**31 - 1  # the fixed validation set's "epoch": never reached by training


class ScriptPlates(Dataset):
    """Rendered plates of one or more specs: index ``e * length + i`` -> ``(uint8 (3, 48, 160), text, path)``.

    Args:
        length: plates per epoch.
        specs: spec name -> sampling weight (e.g. ``{"blue": 0.8, "yellow": 0.2}``).
        degradations: a preset name of :class:`lprzoo.render.Degradations` (``default``, ``paper``, ``none``).
        province_weights: province -> weight; uniform when ``None`` (paper §IV-C, against real data's skew).
        seed: base seed.
        latin_fonts: fonts for letters and digits, one per plate; ``None``: the renderer's default mix.
    """

    def __init__(
        self,
        length: int,
        specs: Mapping[str, float],
        degradations: str = "default",
        province_weights: Mapping[str, float] | None = None,
        seed: int = 0,
        latin_fonts: Sequence[str] | None = None,
    ) -> None:
        self.length = length
        self.names = list(specs)
        weights = np.asarray([specs[n] for n in self.names], float)
        self.cumulative = np.cumsum(weights / weights.sum())
        self.kwargs = {"degradations": degradations, "province_weights": province_weights}
        if latin_fonts is not None:
            self.kwargs["latin_fonts"] = list(latin_fonts)
        self.seed = seed
        self._renderers: dict[str, PlateRenderer] = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_renderers": {}}  # glyph caches are rebuilt in each worker

    def renderer(self, name: str) -> PlateRenderer:
        if name not in self._renderers:
            self._renderers[name] = PlateRenderer(name, **self.kwargs)
        return self._renderers[name]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, str]:
        epoch, i = divmod(int(index), self.length)
        rng = item_rng(self.seed, i, epoch)
        name = self.names[0]
        if len(self.names) > 1:  # one spec draws nothing here, so its items equal `lprzoo render`'s images
            name = self.names[
                min(int(np.searchsorted(self.cumulative, rng.random(), side="right")), len(self.names) - 1)
            ]
        image, text = self.renderer(name).sample(rng)  # (H, W, 3) uint8
        return torch.from_numpy(image).permute(2, 0, 1).contiguous(), text, f"render:{name}:{epoch}:{i}"


class EpochIndexSampler(DistributedSampler):
    """Yields ``epoch * length + i`` for this rank's share of ``i`` (shuffled per epoch, seeded)."""

    def __init__(
        self, dataset: ScriptPlates, seed: int = 0, num_replicas: int | None = None, rank: int | None = None
    ) -> None:
        if num_replicas is None or rank is None:
            distributed = dist.is_available() and dist.is_initialized()
            num_replicas, rank = (dist.get_world_size(), dist.get_rank()) if distributed else (1, 0)
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)

    def __iter__(self) -> Iterator[int]:
        offset = self.epoch * len(self.dataset)
        return (offset + i for i in super().__iter__())


@DATAMODULES.register("script")
class ScriptDataModule(PlateDataModule):
    """Rendered plates for training (new ones every epoch) and a fixed, seeded rendered validation set.

    Args:
        specs: plate spec -> sampling weight; the paper renders blue and yellow plates.
        degradations: renderer degradation preset (``default``, ``paper`` or ``none``).
        province_weights: province -> weight, or a labels file / folder to estimate them from; uniform if unset.
        train_size: plates per training epoch.
        val_size: plates in the fixed validation set (rendered once, kept in memory).
        test: real plates to test on (any :class:`~lprzoo.data.real.RealPlatesDataModule` source).
        seed: base seed of every rendered plate.
        latin_fonts: registered fonts for letters and digits, one per plate (``lprzoo.render.FONTS.list()``);
            unset: the renderer's default mix of six narrow faces.
    """

    def __init__(
        self,
        specs: dict[str, float] | None = None,
        degradations: str = "default",
        province_weights: dict[str, float] | str | None = None,
        train_size: int = 64_000,
        val_size: int = 2_000,
        test: Sources = None,
        seed: int = 0,
        latin_fonts: list[str] | None = None,
        extra_chars: str = "",
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(extra_chars, batch_size, num_workers)
        self.save_hyperparameters()
        self.specs = specs or {"blue": 0.8, "yellow": 0.2}
        weights = province_weights
        if isinstance(weights, str):
            weights = estimate_province_weights(weights)
        self.train_set = ScriptPlates(train_size, self.specs, degradations, weights, seed, latin_fonts)
        self.val_set: PlateImages | None = None
        self.test_set: PlateImages | None = None

    def setup(self, stage: str) -> None:
        if stage in ("fit", "validate") and self.val_set is None and self.hparams.val_size:
            # the training set's renderer settings, so validation plates are drawn the same way
            renders = ScriptPlates(self.hparams.val_size, self.specs, seed=self.hparams.seed, **self.train_set.kwargs)
            images, texts, paths = zip(*(renders[VAL_EPOCH * renders.length + i] for i in range(renders.length)))
            self.val_set = PlateImages.from_tensors(torch.stack(images), texts, paths)
        if stage == "test":
            if not self.hparams.test:
                raise ValueError("ScriptDataModule: set `test` (real plates) to run test")
            paths = [self.hparams.test] if isinstance(self.hparams.test, str) else self.hparams.test
            samples = [s for p in paths for s in read_source(p, self.charset)]
            self.test_set = PlateImages(samples, name="test")

    def train_dataloader(self):
        return self.loader(self.train_set, sampler=EpochIndexSampler(self.train_set, self.hparams.seed), drop_last=True)

    def val_dataloader(self):
        return self.loader(self.val_set) if self.val_set is not None else []

    def test_dataloader(self):
        return self.loader(self.test_set)
