"""``ScriptDataModule``: plates rendered on the fly in the loader workers (paper §IV-C, "Synthetic data").

The plates are :class:`~lprzoo.render.plates.ScriptPlates` (new every epoch, reproducible from ``(seed, epoch,
index)``); this module only wires them, a fixed rendered validation set and real test crops into loaders.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from lprzoo.data.base import PlateDataModule
from lprzoo.data.real import PlateImages, Sources
from lprzoo.data.sources import read_source
from lprzoo.render import estimate_province_weights
from lprzoo.render.degrade import DegradationsChoice
from lprzoo.render.fonts import GlyphJitter
from lprzoo.render.plates import VAL_EPOCH, EpochIndexSampler, ScriptPlates


class ScriptDataModule(PlateDataModule):
    """Rendered plates for training (new ones every epoch) and a fixed, seeded rendered validation set.

    Args:
        specs: plate spec -> sampling weight; the paper renders blue and yellow plates.
        degradations: a renderer preset (``default``, ``paper``, ``none``) or a typed ``Degradations``
            whose fields are tuned one by one (``{"low_res": {"p": 0.8}, "jpeg": null}``).
        province_weights: province -> weight, or a labels file / folder to estimate them from; uniform if unset.
        train_size: plates per training epoch.
        val_size: plates in the fixed validation set (rendered once, kept in memory).
        test: real plates to test on (any :class:`~lprzoo.data.real.RealPlatesDataModule` source).
        seed: base seed of every rendered plate.
        latin_fonts: registered fonts for letters and digits, one per plate (``lprzoo.render.FONTS.list()``);
            unset: the renderer's default mix of six narrow faces.
        cjk_fonts: registered fonts for the province glyph, one per plate (e.g. ``lprzoo.render.fonts.CJK_WEIGHT_MIX``:
            ``[noto-sans-cjk-regular, noto-sans-cjk-medium, noto-sans-cjk-bold, noto-sans-cjk-black]``); unset: Bold.
        cjk_jitter: per-plate stroke and size variation of the province glyph (``lprzoo.render.fonts.GlyphJitter``).
    """

    def __init__(
        self,
        specs: dict[str, float] | None = None,
        degradations: DegradationsChoice = "default",
        province_weights: dict[str, float] | str | None = None,
        train_size: int = 64_000,
        val_size: int = 2_000,
        test: Sources = None,
        seed: int = 0,
        latin_fonts: list[str] | None = None,
        cjk_fonts: list[str] | None = None,
        cjk_jitter: GlyphJitter | None = None,
        extra_chars: str = "",
        batch_size: int = 64,
        num_workers: int = 2,
    ) -> None:
        super().__init__(extra_chars, batch_size, num_workers)
        self.save_hyperparameters(ignore=["cjk_jitter"])
        # checkpoints hold plain data only (read with weights_only=True): the jitter as a dict
        self.save_hyperparameters({"cjk_jitter": None if cjk_jitter is None else asdict(cjk_jitter)})
        self.cjk_jitter = cjk_jitter
        self.specs = specs or {"blue": 0.8, "yellow": 0.2}
        weights = province_weights
        if isinstance(weights, str):
            weights = estimate_province_weights(weights)
        self.train_set = ScriptPlates(
            train_size, self.specs, degradations, weights, seed, latin_fonts, cjk_fonts, cjk_jitter
        )
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
