"""``DCGANModule``: unlabelled 64 × 64 plates from noise, for the paper's all-in-one experiment (§IV-D, [27]).

Trains on the real domain only (``batch["R"]``, e.g. :class:`~lprzoo.data.unpaired.UnpairedPlatesDataModule` with
``size: [64, 64]`` and ``synthetic: false``).  The adversarial loss is a strategy as for the CycleGAN (the BCE
``GAN`` of [27] by default); critic steps are counted in batches in the same way.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor

from lprzoo.refine.adversarial import GAN, AdversarialStrategy, adversarial_step
from lprzoo.refine.networks import DCGANDiscriminator, DCGANGenerator
from lprzoo.refine.samples import log_grid, to_uint8

log = logging.getLogger(__name__)


class DCGANModule(pl.LightningModule):
    """DCGAN (§IV-D): 100-d noise in ``[-1, 1]`` -> 64 × 64 × 3 plates, against a conv + FC discriminator.

    Args:
        strategy: adversarial loss and optimisers; ``None`` (default) is ``GAN()``, BCE with Adam 2e-4, betas
            (0.5, 0.999), as in [27] (``None`` rather than a ``lazy_instance``: see ``CycleGANModule``).
        z_dim: noise size (100 in the paper).
        ngf, ndf: widths of the generator and the discriminator.
        sample_every_n_epochs: save a grid of ``num_samples`` images from fixed noise every this many epochs (0: never).
    """

    def __init__(
        self,
        strategy: AdversarialStrategy | None = None,
        z_dim: int = 100,
        ngf: int = 64,
        ndf: int = 64,
        sample_every_n_epochs: int = 1,
        num_samples: int = 64,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["strategy"])
        self.automatic_optimization = False
        self.strategy = strategy or GAN()
        self.G = DCGANGenerator(z_dim, ngf)
        self.D = DCGANDiscriminator(ndf)
        self.register_buffer("fixed_z", self.noise(num_samples), persistent=False)  # the same noise in every grid
        self.last_sample_path = None

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, z_dim)`` uniform in ``[-1, 1]`` (§IV-D: "each entry is in a range of [−1, 1]"), on the CPU."""
        return torch.rand(n, self.hparams.z_dim, generator=generator) * 2 - 1

    def forward(self, z: Tensor) -> Tensor:
        """``(B, z_dim)`` -> ``(B, 3, 64, 64)`` in ``[-1, 1]``."""
        return self.G(z)

    @torch.no_grad()
    def generate(self, z: Tensor) -> Tensor:
        """``G(z)`` with batch norm in inference mode: ``(N, z_dim)`` -> ``(N, 3, 64, 64)`` in ``[-1, 1]``."""
        training = self.G.training
        self.G.eval()
        try:
            return self.G(z.to(self.fixed_z.device))
        finally:
            self.G.train(training)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` generated plates as ``uint8 (n, 3, 64, 64)``."""
        return to_uint8(self.generate(self.noise(n, generator)))

    def training_step(self, batch: dict[str, Any] | Tensor, batch_idx: int) -> None:
        real = batch["R"] if isinstance(batch, dict) else batch  # (B, 3, 64, 64) in [-1, 1]

        def critic_losses(fake: Tensor) -> dict[str, Tensor]:
            fake = fake.detach()
            return {"D": self.strategy.d_loss(self.D(real), self.D(fake)) + self.strategy.penalty(self.D, real, fake)}

        adversarial_step(
            self, self.strategy, batch_idx, (self.D,),
            make_fakes=lambda: self.G(self.noise(len(real)).to(real.device)),  # (B, 3, 64, 64)
            critic_losses=critic_losses,
            generator_losses=lambda fake: {"G_adv": self.strategy.g_loss(self.D(fake))},
            batch_size=len(real),
        )  # fmt: skip

    def on_train_epoch_end(self) -> None:
        every = self.hparams.sample_every_n_epochs
        if every and (self.current_epoch + 1) % every == 0:
            self.log_samples()

    @rank_zero_only
    def log_samples(self) -> None:
        self.last_sample_path = log_grid(self.trainer, self.generate(self.fixed_z), nrow=8, name="dcgan")
        log.info("samples -> %s", self.last_sample_path)

    def configure_optimizers(self):
        return list(self.strategy.make_optimizers(self.G.parameters(), self.D.parameters()))
