"""``CycleGANModule``: rendered plates (S) -> real-looking plates (R) without paired data (paper §III-A, §IV-C).

G: S -> R and F: R -> S are trained against D_R and D_S with the adversarial loss of a pluggable
:class:`~lprzoo.refine.adversarial.AdversarialStrategy` (LSGAN for CycleGAN, WGAN for the paper's CycleWGAN), plus
the cycle-consistency loss (Eq. 3) weighted by λ (Eq. 1) and [44]'s optional identity loss.

Beyond the paper, an optional *label-keeping* loss: the CTC loss of a frozen recognizer reading G(s) against the
render's label (CyCADA's semantic consistency, Hoffman et al. 2018).  Our real domain is 45 % 皖 while renders
draw 31 provinces uniformly, so the discriminator can tell the domains apart by the province alone and pushes G to
redraw it (measured in docs/gan.md); the loss keeps what the label says while the adversarial loss changes the look.

Critic steps (``strategy.n_critic``) are counted in batches, as in the WGAN and [44] reference code: every batch
updates the discriminators once, and every ``n_critic``-th batch (``(batch_idx + 1) % n_critic == 0``) then also
updates the generators.  One generator iteration thus sees ``n_critic`` fresh batches for its critic steps instead
of re-using one batch ``n_critic`` times; with LSGAN (``n_critic=1``) each batch is one D step and one G step.
Within a batch the critic step comes first (WGAN's Algorithm 1); [44] steps G first, on the same fakes.

Under manual optimisation Lightning counts the steps of both optimisers in ``trainer.global_step`` (Lightning issue
#17958), so ``max_steps`` and ``fast_dev_run=N`` count D and G updates, not batches: bound runs with ``max_epochs``
and ``limit_train_batches``.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn
from torch.nn.functional import l1_loss
from torch.optim.lr_scheduler import LambdaLR

from lprzoo.refine.adversarial import AdversarialStrategy, adversarial_step
from lprzoo.refine.networks import PatchDiscriminator, ResnetGenerator
from lprzoo.refine.pool import ImagePool
from lprzoo.refine.translator import LinearDecay, UnpairedBatch, UnpairedTranslator

__all__ = ["CycleGANModule", "LinearDecay", "UnpairedBatch"]


class CycleGANModule(UnpairedTranslator):
    """CycleGAN / CycleWGAN on unpaired batches ``{"S": rendered, "R": real}`` (§III-A, Eq. 1-3, Eq. 8).

    Args:
        strategy: adversarial loss, critic steps, clipping and optimisers; ``None`` (default) is ``LSGAN()``, i.e.
            CycleGAN; ``WGAN`` is the paper's CycleWGAN.  Not ``lazy_instance(LSGAN)``: when a recipe changes the
            ``class_path`` of a default, jsonargparse keeps the default's init args that the new class also accepts
            (jsonargparse #460, by design), so ``class_path: WGAN`` would silently inherit LSGAN's ``lr`` and
            ``n_critic``.
        ngf, ndf: widths of the generators and of the PatchGAN discriminators (64 in [44]).
        n_blocks: residual blocks per generator (6 in the paper).
        lambda_cycle: λ of Eq. 1 (10 in §IV-C).
        lambda_identity: identity loss ``‖G(r) − r‖₁ + ‖F(s) − s‖₁`` weighted ``lambda_identity * lambda_cycle``
            ([44]'s default 0.5; 0 disables it).
        pool_size: past fakes kept for the discriminators (50 in [44]; 0 disables the pool).
        decay_start_epoch: epochs at the initial learning rate, after which it decays linearly ...
        decay_epochs: ... reaching 0 at epoch ``decay_start_epoch + decay_epochs`` (the paper stops at 30 epochs).
        sample_every_n_epochs: save a sample grid every this many epochs (0: never).
        num_samples: plates of each domain in the sample grid, taken from the first training batches.
        label_keeper: a recognizer (zoo name, e.g. ``lightcrnn-1.2-script``, or a checkpoint) read, frozen, on G(s);
            its CTC loss against the render's label is added to G's loss.  Loaded at ``fit`` only and not saved in
            this module's checkpoints, so translating needs only the generator.  ``None``: the paper's losses only.
        lambda_label: weight of that CTC loss.
    """

    def __init__(
        self,
        strategy: AdversarialStrategy | None = None,
        ngf: int = 64,
        ndf: int = 64,
        n_blocks: int = 6,
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        decay_start_epoch: int = 15,
        decay_epochs: int = 15,
        sample_every_n_epochs: int = 1,
        num_samples: int = 8,
        label_keeper: str | None = None,
        lambda_label: float = 1.0,
    ) -> None:
        super().__init__(strategy, ngf, n_blocks, decay_start_epoch, decay_epochs)  # G: S -> R, strategy, LR decay
        self.save_hyperparameters(ignore=["strategy"])
        self.F = ResnetGenerator(3, 3, ngf, n_blocks)  # R -> S
        self.D_S = PatchDiscriminator(3, ndf)  # rendered vs. F(r)
        self.D_R = PatchDiscriminator(3, ndf)  # real vs. G(s)
        self.pool_S = ImagePool(pool_size)  # past F(r)
        self.pool_R = ImagePool(pool_size)  # past G(s)

    # ---- losses ---------------------------------------------------------------------------------------------
    def loss_D_basic(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """One discriminator's loss (real vs. pooled fakes, plus the strategy's penalty)."""
        return self.strategy.d_loss(D(real), D(fake)) + self.strategy.penalty(D, real, fake)

    def loss_G(
        self, s: Tensor, r: Tensor, fake_r: Tensor, fake_s: Tensor, texts: list[str] | None = None
    ) -> dict[str, Tensor]:
        """Eq. 1 for the generators: adversarial losses of G and F, λ × cycle losses (Eq. 3), identity losses, and
        the optional label-keeping loss on G(s)."""
        lam, lam_idt = self.hparams.lambda_cycle, self.hparams.lambda_cycle * self.hparams.lambda_identity
        losses = {
            "G_adv": self.strategy.g_loss(self.D_R(fake_r)),  # G(s) should fool D_R
            "F_adv": self.strategy.g_loss(self.D_S(fake_s)),  # F(r) should fool D_S
            "cycle_S": lam * l1_loss(self.F(fake_r), s),  # F(G(s)) ≈ s
            "cycle_R": lam * l1_loss(self.G(fake_s), r),  # G(F(r)) ≈ r
        }
        if lam_idt > 0:
            losses["idt_R"] = lam_idt * l1_loss(self.G(r), r)  # G leaves real plates alone
            losses["idt_S"] = lam_idt * l1_loss(self.F(s), s)  # F leaves rendered plates alone
        if self._keeper and texts is not None:
            losses["label"] = self.hparams.lambda_label * self.label_loss(fake_r, texts)  # G(s) still reads as s
        return losses

    # ---- training -------------------------------------------------------------------------------------------
    def training_step(self, batch: UnpairedBatch, batch_idx: int) -> None:
        s, r = batch["S"], batch["R"]  # (B, 3, H, W) each, in [-1, 1]
        self._remember_samples(s, r)
        adversarial_step(
            self, self.strategy, batch_idx, (self.D_R, self.D_S),
            make_fakes=lambda: (self.G(s), self.F(r)),  # (B, 3, H, W): G(s) in R, F(r) in S
            critic_losses=lambda fakes: {
                "D_R": self.loss_D_basic(self.D_R, r, self.pool_R.query(fakes[0])),
                "D_S": self.loss_D_basic(self.D_S, s, self.pool_S.query(fakes[1])),
            },
            generator_losses=lambda fakes: self.loss_G(s, r, *fakes, batch.get("S_text")),
            batch_size=len(s),
        )  # fmt: skip

    sample_name = "cyclegan"

    @torch.no_grad()
    def sample_grid(self, s: Tensor, r: Tensor) -> Tensor:
        """Rows S, G(S), F(G(S)), R, F(R) of ``N`` plates each: ``(5 N, 3, H, W)`` in ``[-1, 1]``."""
        fake_r = self.G(s)
        return torch.cat([s, fake_r, self.F(fake_r), r, self.F(r)])

    # ---- optimisation ---------------------------------------------------------------------------------------
    def configure_optimizers(self):
        opt_g, opt_d = self.strategy.make_optimizers(
            itertools.chain(self.G.parameters(), self.F.parameters()),
            itertools.chain(self.D_S.parameters(), self.D_R.parameters()),
        )
        # manual optimisation: stepped once per epoch in on_train_epoch_end
        return [opt_g, opt_d], [LambdaLR(opt_g, self.lr_factor), LambdaLR(opt_d, self.lr_factor)]
