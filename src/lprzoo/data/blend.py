"""``BlendedDataModule``: fine-tuning that does not forget (issue adapt-target; paper §IV-G's fine-tune, extended).

Real labelled crops are few and skewed (``real/train`` is 45 % 皖 with almost no 苏, 粤 or yellow plates), so a
model fine-tuned on them alone forgets the provinces and colours its pre-training covered (measured: docs/gan.md).
This module draws every training item from one of several labelled sources by weight:

- ``real``: labelled crops (augmented with :class:`~lprzoo.data.augment.PlateAugment`);
- ``render``: plates rendered on the fly (:class:`~lprzoo.render.plates.ScriptPlates`, all 31 provinces);
- ``translated``: a ``lprzoo translate`` folder of GAN-refined plates (augmented);
- ``pseudo``: a ``lprzoo pseudo-label`` folder of self-labelled target crops (augmented).

Item ``i`` of epoch ``e`` picks its source and its image from ``SeedSequence([seed, e, i])`` alone, through
:class:`~lprzoo.render.plates.EpochIndexSampler` (so DDP ranks shard it and any worker count gives the same batches).
Validation and test use real crops only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from jsonargparse import lazy_instance
from torch.utils.data import Dataset

from lprzoo.batch import INPUT, InputContract
from lprzoo.data.augment import PlateAugment
from lprzoo.data.real import PlateImages, RealPlatesDataModule, Sources
from lprzoo.data.sources import SourceFormat, read_source
from lprzoo.errors import MissingInputError
from lprzoo.render.config import RenderConfig
from lprzoo.render.dataset import item_rng
from lprzoo.render.plates import EpochIndexSampler, ScriptPlates

log = logging.getLogger(__name__)


class BlendedPlates(Dataset):
    """Index ``e * length + i`` -> an item of one of ``parts``, chosen with probability ``weights`` (seeded).

    A :class:`ScriptPlates` part is indexed by its own epoch scheme (new plates every epoch); any other part by a
    uniformly drawn index, then ``transforms[k]`` (if any) is applied.  ``tags[k]`` (if any) prefixes the paths of
    part ``k``'s items (``"pseudo"`` -> ``pseudo:<file>``), so that a batch tells its sources apart
    (:meth:`lprzoo.batch.PlateBatch.from_source`).
    """

    def __init__(
        self,
        parts: Sequence[Dataset],
        weights: Sequence[float],
        length: int,
        seed: int = 0,
        transforms: Sequence[Callable[[torch.Tensor], torch.Tensor] | None] | None = None,
        tags: Sequence[str | None] | None = None,
    ) -> None:
        w = np.asarray(weights, float)
        if len(parts) != len(w) or not len(parts) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"BlendedPlates: {len(parts)} parts need as many non-negative weights, got {weights}")
        self.parts, self.length, self.seed = list(parts), length, seed
        self.cumulative = np.cumsum(w / w.sum())
        self.transforms = list(transforms or [None] * len(parts))
        self.tags = list(tags or [None] * len(parts))

    def __len__(self) -> int:
        return self.length

    def choose(self, index: int) -> tuple[int, np.random.Generator]:
        """The part that item ``index`` comes from, and the item's random stream (drawn from after the choice)."""
        epoch, i = divmod(int(index), self.length)
        rng = item_rng(self.seed, i, epoch + 1_000_003)  # a stream of its own, apart from the renders' (seed, e, i)
        return min(int(np.searchsorted(self.cumulative, rng.random(), side="right")), len(self.parts) - 1), rng

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, str] | None:
        epoch, i = divmod(int(index), self.length)
        k, rng = self.choose(index)
        part = self.parts[k]
        if isinstance(part, ScriptPlates):
            return part[epoch * part.length + i % part.length]
        item = part[int(rng.integers(len(part)))]
        if item is None:
            return item
        image, text, path = item
        if self.transforms[k] is not None:
            image = self.transforms[k](image)
        return image, text, path if self.tags[k] is None else f"{self.tags[k]}:{path}"


class BlendedDataModule(RealPlatesDataModule):
    """Real crops blended with rendered, GAN-translated and pseudo-labelled plates, by weight, for training.

    Args:
        train, val, test, predict: real crop sources (see :class:`~lprzoo.data.real.RealPlatesDataModule`).
        real_weight, render_weight, translated_weight, pseudo_weight: the share of each source in a training
            epoch (normalised; a source with weight 0 or no data is left out).
        translated: a ``lprzoo translate`` output folder.
        pseudo: a ``lprzoo pseudo-label`` output folder (or any labelled source).
        train_size: items per epoch; default ``len(train) / real share`` (every real crop about once per epoch).
        render: how the renders are drawn (:class:`~lprzoo.render.config.RenderConfig`); its ``specs`` default to
            60 % blue, 35 % yellow, 5 % green plates, provinces uniform.
        seed: seed of the blend and the renders.
        val_fraction, split_seed, format, augment, cache, skip_invalid, check_plates, extra_chars, batch_size,
            num_workers: as for
            :class:`~lprzoo.data.real.RealPlatesDataModule`; ``augment`` applies to real, translated and pseudo
            crops (renders carry their own degradations).
    """

    def __init__(
        self,
        train: Sources = None,
        val: Sources = None,
        test: Sources = None,
        predict: Sources = None,
        real_weight: float = 0.5,
        render_weight: float = 0.5,
        translated: Sources = None,
        translated_weight: float = 0.0,
        pseudo: Sources = None,
        pseudo_weight: float = 0.0,
        train_size: int | None = None,
        render: RenderConfig = RenderConfig(),  # never mutated: a shared default is safe
        seed: int = 0,
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
        super().__init__(
            train=train, val=val, test=test, predict=predict, val_fraction=val_fraction, split_seed=split_seed,
            format=format, augment=augment, cache=cache, skip_invalid=skip_invalid, check_plates=check_plates,
            extra_chars=extra_chars, batch_size=batch_size, num_workers=num_workers, contract=contract,
        )  # fmt: skip
        self.save_hyperparameters(ignore=["augment", "render", "contract"])
        self.save_hyperparameters({"render": render.to_dict(), "contract": contract.to_dict()})  # plain data
        self.render = render
        self.train_set: BlendedPlates | None = None

    def _labelled(self, sources: Sources, name: str, command: str) -> PlateImages:
        paths = [sources] if isinstance(sources, str) else list(sources or [])
        for p in paths:
            if not Path(p).expanduser().exists():
                raise MissingInputError(f"{name}: no data at {p}; produce it with `{command}`")
        samples = [
            s for p in paths
            for s in read_source(p, self.charset, self.hparams.format, self.skips, plates=self.hparams.check_plates)
        ]  # fmt: skip
        return PlateImages(samples, None, self.hparams.cache, self.skips, name=name, size=self.contract.size)

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage != "fit" or self.train_set is not None:
            return
        hp = self.hparams
        real = self.datasets["train"]
        real.transform = None  # augmentation is applied by the blend, once per drawn item
        parts: list[Dataset] = [real]
        weights = [hp.real_weight]
        transforms = [self.augment]
        tags: list[str | None] = [None]  # real, rendered and translated items' paths already say where they came from
        if hp.render_weight > 0:
            renders = self.render.plates(
                max(len(real), 1024), hp.seed, {"blue": 0.6, "yellow": 0.35, "green": 0.05}, self.contract
            )
            parts.append(renders)
            weights.append(hp.render_weight)
            transforms.append(None)
            tags.append(None)
        if hp.translated and hp.translated_weight > 0:
            parts.append(self._labelled(hp.translated, "translated", "lprzoo translate --generator ... --out DIR"))
            weights.append(hp.translated_weight)
            transforms.append(self.augment)
            tags.append(None)
        if hp.pseudo and hp.pseudo_weight > 0:
            parts.append(self._labelled(hp.pseudo, "pseudo", "lprzoo pseudo-label --model M --images DIR --out DIR"))
            weights.append(hp.pseudo_weight)
            transforms.append(self.augment)
            tags.append("pseudo")
        real_share = hp.real_weight / sum(weights) if hp.real_weight > 0 else 0
        length = hp.train_size or (round(len(real) / real_share) if real_share else 10 * len(real))
        self.train_set = BlendedPlates(parts, weights, length, hp.seed, transforms, tags)
        share = ", ".join(f"{type(p).__name__}({len(p)}) × {w / sum(weights):.2f}" for p, w in zip(parts, weights))
        log.info("blended training set: %d items per epoch from %s", length, share)

    def train_dataloader(self):
        assert self.train_set is not None
        return self.loader(self.train_set, sampler=EpochIndexSampler(self.train_set, self.hparams.seed), drop_last=True)
