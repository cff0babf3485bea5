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
import logging
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor, nn
from torch.nn.functional import interpolate, l1_loss
from torch.optim.lr_scheduler import LambdaLR

from lprzoo.batch import IMAGE_HEIGHT, IMAGE_WIDTH
from lprzoo.charset import Charset
from lprzoo.errors import MissingInputError
from lprzoo.losses import ctc_loss
from lprzoo.refine.adversarial import LSGAN, AdversarialStrategy
from lprzoo.refine.networks import PatchDiscriminator, ResnetGenerator
from lprzoo.refine.pool import ImagePool
from lprzoo.refine.samples import log_grid
from lprzoo.weights import load_recognizer

log = logging.getLogger(__name__)

UnpairedBatch = dict[str, Any]  # {"S": (B, 3, H, W) in [-1, 1], "R": (B, 3, H, W) in [-1, 1], "S_text": [str]}


class LinearDecay:
    """LR factor of [44]'s ``linear`` policy: 1 for epochs ``< start``, then linear decay reaching 0 at epoch
    ``start + epochs`` (``1 − max(0, e + 1 − start) / (epochs + 1)``); a callable object so that checkpoints keep it.
    """

    def __init__(self, start: int, epochs: int) -> None:
        if start < 0 or epochs < 0:
            raise ValueError(f"decay_start_epoch and decay_epochs must be >= 0, got {start} and {epochs}")
        self.start, self.epochs = start, epochs

    def __call__(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 1 - self.start) / (self.epochs + 1))


class CycleGANModule(pl.LightningModule):
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
        super().__init__()
        self.save_hyperparameters(ignore=["strategy"])
        self.automatic_optimization = False
        self.strategy = strategy or LSGAN()
        self.lr_factor = LinearDecay(decay_start_epoch, decay_epochs)
        self.G = ResnetGenerator(3, 3, ngf, n_blocks)  # S -> R
        self.F = ResnetGenerator(3, 3, ngf, n_blocks)  # R -> S
        self.D_S = PatchDiscriminator(3, ndf)  # rendered vs. F(r)
        self.D_R = PatchDiscriminator(3, ndf)  # real vs. G(s)
        self.pool_S = ImagePool(pool_size)  # past F(r)
        self.pool_R = ImagePool(pool_size)  # past G(s)
        self._samples: tuple[Tensor, Tensor] | None = None  # fixed (S, R) for the sample grids
        self.last_sample_path = None
        self._keeper: list[nn.Module] = []  # the frozen recognizer, in a list so it is not a registered submodule
        self._keeper_charset = Charset()

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.hparams.label_keeper and not self._keeper:
            try:
                net, record = load_recognizer(self.hparams.label_keeper)
            except FileNotFoundError:
                raise MissingInputError(
                    f"label_keeper: no recognizer at {self.hparams.label_keeper}; use the zoo's "
                    "`lightcrnn-1.2-script`, or train one with `lprzoo fit --config recipes/script_only.yaml`"
                ) from None
            self._keeper.append(net.requires_grad_(False))
            self._keeper_charset = record.charset
            log.info("label keeper: %s (%s), λ = %g", self.hparams.label_keeper, record.arch, self.hparams.lambda_label)

    def on_fit_start(self) -> None:
        for keeper in self._keeper:  # not a submodule, so Lightning does not move it with the rest
            keeper.to(self.device)

    def label_loss(self, fake_r: Tensor, texts: list[str]) -> Tensor:
        """CTC loss of the frozen recognizer on ``G(s)`` ``(B, 3, H, W)`` in ``[-1, 1]`` against the render labels."""
        keeper, charset = self._keeper[0], self._keeper_charset
        images = fake_r.add(1).div(2)  # (B, 3, H, W) in [0, 1], the recognizer's input range
        if tuple(images.shape[-2:]) != (IMAGE_HEIGHT, IMAGE_WIDTH):
            images = interpolate(images, (IMAGE_HEIGHT, IMAGE_WIDTH), mode="bilinear", antialias=True)
        targets, lengths = charset.encode_batch(texts)
        log_probs = keeper(images).float().log_softmax(-1)  # (B, T, K)
        return ctc_loss(log_probs, targets.to(fake_r.device), lengths.to(fake_r.device))

    def forward(self, s: Tensor) -> Tensor:
        """Refine rendered plates: ``(B, 3, H, W)`` in ``[-1, 1]`` -> ``G(s)``, same shape and range."""
        return self.G(s)

    # ---- losses ---------------------------------------------------------------------------------------------
    def backward_D_basic(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """One discriminator's loss (real vs. pooled fakes, plus the strategy's penalty), back-propagated."""
        loss = self.strategy.d_loss(D(real), D(fake)) + self.strategy.penalty(D, real, fake)
        self.manual_backward(loss)
        return loss.detach()

    def backward_G(
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
        losses["G"] = sum(losses.values())
        self.manual_backward(losses["G"])
        return {k: v.detach() for k, v in losses.items()}

    # ---- training -------------------------------------------------------------------------------------------
    def training_step(self, batch: UnpairedBatch, batch_idx: int) -> None:
        s, r = batch["S"], batch["R"]  # (B, 3, H, W) each, in [-1, 1]
        self._remember_samples(s, r)
        opt_g, opt_d = self.optimizers()
        generator_step = (batch_idx + 1) % self.strategy.n_critic == 0
        with torch.set_grad_enabled(generator_step):  # critic-only batches need no graph through G and F
            fake_r, fake_s = self.G(s), self.F(r)  # (B, 3, H, W): G(s) in R, F(r) in S

        with self.toggled_optimizer(opt_d):
            loss_d_r = self.backward_D_basic(self.D_R, r, self.pool_R.query(fake_r))
            loss_d_s = self.backward_D_basic(self.D_S, s, self.pool_S.query(fake_s))
            opt_d.step()
            opt_d.zero_grad()
            self.strategy.clip_(self.D_R)
            self.strategy.clip_(self.D_S)
        self.log_dict({"train/D_R": loss_d_r, "train/D_S": loss_d_s}, prog_bar=True, batch_size=len(s))

        if generator_step:
            with self.toggled_optimizer(opt_g):
                losses = self.backward_G(s, r, fake_r, fake_s, batch.get("S_text"))
                opt_g.step()
                opt_g.zero_grad()
            self.log("train/G", losses.pop("G"), prog_bar=True, batch_size=len(s))
            self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=len(s))

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()
        every = self.hparams.sample_every_n_epochs
        if every and (self.current_epoch + 1) % every == 0 and self._samples is not None:
            self.log_samples()

    # ---- sample grids ---------------------------------------------------------------------------------------
    def _remember_samples(self, s: Tensor, r: Tensor) -> None:
        """Keep the first ``num_samples`` plates of each domain seen in training, to draw the same ones each epoch."""
        n = self.hparams.num_samples
        have = 0 if self._samples is None else len(self._samples[0])
        if have < n:
            new = (s[: n - have].detach().cpu(), r[: n - have].detach().cpu())
            self._samples = new if self._samples is None else tuple(torch.cat(p) for p in zip(self._samples, new))

    @torch.no_grad()
    def sample_grid(self, s: Tensor, r: Tensor) -> Tensor:
        """Rows S, G(S), F(G(S)), R, F(R) of ``N`` plates each: ``(5 N, 3, H, W)`` in ``[-1, 1]``."""
        fake_r = self.G(s)
        return torch.cat([s, fake_r, self.F(fake_r), r, self.F(r)])

    @rank_zero_only
    def log_samples(self) -> None:
        s, r = (x.to(self.device) for x in self._samples)
        self.last_sample_path = log_grid(self.trainer, self.sample_grid(s, r), nrow=len(s), name="cyclegan")
        log.info("samples -> %s", self.last_sample_path)

    # ---- optimisation ---------------------------------------------------------------------------------------
    def configure_optimizers(self):
        opt_g, opt_d = self.strategy.make_optimizers(
            itertools.chain(self.G.parameters(), self.F.parameters()),
            itertools.chain(self.D_S.parameters(), self.D_R.parameters()),
        )
        # manual optimisation: stepped once per epoch in on_train_epoch_end
        return [opt_g, opt_d], [LambdaLR(opt_g, self.lr_factor), LambdaLR(opt_d, self.lr_factor)]
