"""``ScriptDataModule``: plates rendered on the fly in the loader workers (paper §IV-C, "Synthetic data").

The plates are :class:`~lprzoo.render.plates.ScriptPlates` (new every epoch, reproducible from ``(seed, epoch,
index)``); this module only wires them, a fixed rendered validation set and real test crops into loaders.
"""

from __future__ import annotations

import torch

from lprzoo.batch import INPUT, InputContract
from lprzoo.data.base import PlateDataModule
from lprzoo.data.real import PlateImages, Sources
from lprzoo.data.sources import read_source
from lprzoo.render.config import RenderConfig
from lprzoo.render.plates import VAL_EPOCH, EpochIndexSampler

PAPER_SPECS = {"blue": 0.8, "yellow": 0.2}  # the paper renders blue and yellow plates


class ScriptDataModule(PlateDataModule):
    """Rendered plates for training (new ones every epoch) and a fixed, seeded rendered validation set.

    Args:
        render: how the plates are drawn (:class:`~lprzoo.render.config.RenderConfig`); its ``specs`` default to
            the paper's blue and yellow plates (80 / 20 %).
        train_size: plates per training epoch.
        val_size: plates in the fixed validation set (rendered once, kept in memory).
        test: real plates to test on (any :class:`~lprzoo.data.real.RealPlatesDataModule` source).
        seed: base seed of every rendered plate.
        extra_chars, batch_size, num_workers, contract: see :class:`~lprzoo.data.base.PlateDataModule`.
    """

    def __init__(
        self,
        render: RenderConfig = RenderConfig(),  # never mutated: a shared default is safe
        train_size: int = 64_000,
        val_size: int = 2_000,
        test: Sources = None,
        seed: int = 0,
        extra_chars: str = "",
        batch_size: int = 64,
        num_workers: int = 2,
        contract: InputContract = INPUT,
    ) -> None:
        super().__init__(extra_chars, batch_size, num_workers, contract)
        self.save_hyperparameters(ignore=["render", "contract"])
        self.save_hyperparameters({"contract": contract.to_dict()})
        self.save_hyperparameters({"render": render.to_dict()})  # plain data: checkpoints are read weights_only
        self.render = render
        self.train_set = render.plates(train_size, seed, PAPER_SPECS, contract)
        self.val_set: PlateImages | None = None
        self.test_set: PlateImages | None = None

    def setup(self, stage: str) -> None:
        if stage in ("fit", "validate") and self.val_set is None and self.hparams.val_size:
            # the training set's renderer settings, so validation plates are drawn the same way
            renders = self.render.plates(self.hparams.val_size, self.hparams.seed, PAPER_SPECS, self.contract)
            images, texts, paths = zip(*(renders[VAL_EPOCH * renders.length + i] for i in range(renders.length)))
            self.val_set = PlateImages.from_tensors(torch.stack(images), texts, paths)
        if stage == "test":
            if not self.hparams.test:
                raise ValueError("ScriptDataModule: set `test` (real plates) to run test")
            paths = [self.hparams.test] if isinstance(self.hparams.test, str) else self.hparams.test
            samples = [s for p in paths for s in read_source(p, self.charset)]
            self.test_set = PlateImages(samples, name="test", size=self.contract.size)

    def train_dataloader(self):
        return self.loader(self.train_set, sampler=EpochIndexSampler(self.train_set, self.hparams.seed), drop_last=True)

    def val_dataloader(self):
        return self.loader(self.val_set) if self.val_set is not None else []

    def test_dataloader(self):
        return self.loader(self.test_set)
