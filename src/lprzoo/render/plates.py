"""Rendered plates as a map-style ``Dataset`` whose items are a function of ``(seed, epoch, index)`` (paper §IV-C).

Every epoch shows new plates and every plate is reproducible: item ``i`` of epoch ``e`` is drawn from
``SeedSequence([seed, e, i])`` (:func:`~lprzoo.render.dataset.item_rng`), so the images do not depend on the number of
workers or processes.  The epoch travels inside the index: :class:`EpochIndexSampler` yields ``e * length + i``
and is a ``DistributedSampler``, so Lightning calls its ``set_epoch`` and shards it across DDP ranks as is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler

from lprzoo.batch import INPUT
from lprzoo.render.dataset import item_rng
from lprzoo.render.degrade import DegradationsChoice
from lprzoo.render.fonts import GlyphJitter
from lprzoo.render.renderer import PlateRenderer

VAL_EPOCH = 2**31 - 1  # the fixed validation set's "epoch": never reached by training


class ScriptPlates(Dataset):
    """Rendered plates of one or more specs: index ``e * length + i`` -> ``(uint8 (3, 48, 160), text, path)``.

    Args:
        length: plates per epoch.
        specs: spec name -> sampling weight (e.g. ``{"blue": 0.8, "yellow": 0.2}``).
        degradations: a preset name (``default``, ``paper``, ``none``) or a :class:`~lprzoo.render.Degradations`.
        province_weights: province -> weight; uniform when ``None`` (paper §IV-C, against real data's skew).
        seed: base seed.
        latin_fonts: fonts for letters and digits, one per plate; ``None``: the renderer's default mix.
        cjk_fonts: fonts for the province glyph, one per plate; ``None``: the renderer's default (one font).
        cjk_jitter: stroke and size variation of the province glyph (:class:`~lprzoo.render.fonts.GlyphJitter`).
        size: ``(height, width)`` of the plates: the recognizer's input contract.
        layout: the contract's layout (:mod:`lprzoo.layout`): ``"rows"`` and ``"rows-tight"`` place a double-row
            plate's rows side by side.
    """

    def __init__(
        self,
        length: int,
        specs: Mapping[str, float],
        degradations: DegradationsChoice = "default",
        province_weights: Mapping[str, float] | None = None,
        seed: int = 0,
        latin_fonts: Sequence[str] | None = None,
        cjk_fonts: Sequence[str] | None = None,
        cjk_jitter: GlyphJitter | None = None,
        size: tuple[int, int] = INPUT.size,
        layout: str = INPUT.layout,
    ) -> None:
        self.length = length
        self.names = list(specs)
        weights = np.asarray([specs[n] for n in self.names], float)
        self.cumulative = np.cumsum(weights / weights.sum())
        self.kwargs = {"degradations": degradations, "province_weights": province_weights, "layout": layout}
        self.size = tuple(size)
        if latin_fonts is not None:
            self.kwargs["latin_fonts"] = list(latin_fonts)
        if cjk_fonts is not None:
            self.kwargs["cjk_fonts"] = list(cjk_fonts)
        if cjk_jitter is not None:
            self.kwargs["cjk_jitter"] = cjk_jitter
        self.seed = seed
        self._renderers: dict[str, PlateRenderer] = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_renderers": {}}  # glyph caches are rebuilt in each worker

    def renderer(self, name: str) -> PlateRenderer:
        if name not in self._renderers:
            self._renderers[name] = PlateRenderer(name, height=self.size[0], width=self.size[1], **self.kwargs)
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
