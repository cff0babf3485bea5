"""What every ``S -> R`` translator trained on unpaired batches shares (CycleGAN §III-A, FastCUT): the pluggable
adversarial strategy's linear LR decay, the optional frozen label keeper, and the per-epoch sample grids.

:class:`~lprzoo.refine.cyclegan.CycleGANModule` and :class:`~lprzoo.refine.cut.CUTModule` extend it; each defines
its networks, ``training_step``, ``sample_grid`` and ``configure_optimizers``.  Both keep ``G: S -> R`` under
``G.``, so ``lprzoo translate`` and :func:`~lprzoo.refine.generators.load_generator` read either checkpoint.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor, nn
from torch.nn.functional import interpolate

from lprzoo.batch import INPUT
from lprzoo.charset import Charset
from lprzoo.errors import MissingInputError
from lprzoo.losses import ctc_loss
from lprzoo.refine.adversarial import LSGAN, AdversarialStrategy
from lprzoo.refine.networks import ResnetGenerator
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


class UnpairedTranslator(pl.LightningModule):
    """Base of the unpaired translators: builds ``G: S -> R``, the strategy and the LR decay.  Subclasses call
    ``save_hyperparameters`` with at least ``label_keeper``, ``lambda_label``, ``sample_every_n_epochs`` and
    ``num_samples`` (their own arguments, documented there)."""

    sample_name = "translator"  # the sample grids' file prefix

    def __init__(
        self,
        strategy: AdversarialStrategy | None,
        ngf: int,
        n_blocks: int,
        decay_start_epoch: int,
        decay_epochs: int,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.strategy = strategy or LSGAN()
        self.lr_factor = LinearDecay(decay_start_epoch, decay_epochs)
        self.G = ResnetGenerator(3, 3, ngf, n_blocks)  # S -> R
        self._samples: tuple[Tensor, Tensor] | None = None  # fixed (S, R) for the sample grids
        self.last_sample_path = None
        self._keeper: list[nn.Module] = []  # the frozen recognizer, in a list so it is not a registered submodule
        self._keeper_charset = Charset()
        self._keeper_size = INPUT.size  # the keeper's own input contract once it is loaded

    # ---- label keeping (beyond the paper: CyCADA's semantic consistency) -----------------------------------
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
            self._keeper_size = record.input.size
            log.info("label keeper: %s (%s), λ = %g", self.hparams.label_keeper, record.arch, self.hparams.lambda_label)

    def on_fit_start(self) -> None:
        for keeper in self._keeper:  # not a submodule, so Lightning does not move it with the rest
            keeper.to(self.device)

    def label_loss(self, fake_r: Tensor, texts: list[str]) -> Tensor:
        """CTC loss of the frozen recognizer on ``G(s)`` ``(B, 3, H, W)`` in ``[-1, 1]`` against the render labels."""
        keeper, charset = self._keeper[0], self._keeper_charset
        images = fake_r.add(1).div(2)  # (B, 3, H, W) in [0, 1], the recognizer's input range
        if tuple(images.shape[-2:]) != self._keeper_size:  # read as the keeper's record says it reads
            images = interpolate(images, self._keeper_size, mode="bilinear", antialias=True)
        targets, lengths = charset.encode_batch(texts)
        log_probs = keeper(images).float().log_softmax(-1)  # (B, T, K)
        return ctc_loss(log_probs, targets.to(fake_r.device), lengths.to(fake_r.device))

    def forward(self, s: Tensor) -> Tensor:
        """Refine rendered plates: ``(B, 3, H, W)`` in ``[-1, 1]`` -> ``G(s)``, same shape and range."""
        return self.G(s)

    # ---- per epoch: LR decay and sample grids --------------------------------------------------------------
    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()
        every = self.hparams.sample_every_n_epochs
        if every and (self.current_epoch + 1) % every == 0 and self._samples is not None:
            self.log_samples()

    def _remember_samples(self, s: Tensor, r: Tensor) -> None:
        """Keep the first ``num_samples`` plates of each domain seen in training, to draw the same ones each epoch."""
        n = self.hparams.num_samples
        have = 0 if self._samples is None else len(self._samples[0])
        if have < n:
            new = (s[: n - have].detach().cpu(), r[: n - have].detach().cpu())
            self._samples = new if self._samples is None else tuple(torch.cat(p) for p in zip(self._samples, new))

    def sample_grid(self, s: Tensor, r: Tensor) -> Tensor:
        """Rows of ``N`` plates each, ``(rows N, 3, H, W)`` in ``[-1, 1]``; defined by each translator."""
        raise NotImplementedError

    @rank_zero_only
    def log_samples(self) -> None:
        s, r = (x.to(self.device) for x in self._samples)
        with torch.no_grad():
            grid = self.sample_grid(s, r)
        self.last_sample_path = log_grid(self.trainer, grid, nrow=len(s), name=self.sample_name)
        log.info("samples -> %s", self.last_sample_path)
