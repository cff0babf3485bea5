"""``CRNNModule``: CTC training of a registered recognizer (paper §III-B, §IV-C).

The module only wires training: the network comes from the model registry by name, decoding from
:mod:`lprzoo.decode`, metrics from :mod:`lprzoo.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.cli import OptimizerCallable
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from lprzoo.batch import PlateBatch
from lprzoo.charset import Charset, CharsetMismatchError
from lprzoo.decode import Prediction, greedy_decode, prefix_beam_search
from lprzoo.errors import CheckpointError
from lprzoo.losses import ctc_loss
from lprzoo.metrics import PlateMetrics
from lprzoo.recognize.schedules import OneCycle
from lprzoo.registry import MODELS
from lprzoo.weights import read_weights, recognizer_state

log = logging.getLogger(__name__)

StepsScheduler = Callable[[Optimizer, int], LRScheduler]


def adamw(params) -> Optimizer:
    """The project's training set-up (docs/results.md): AdamW, lr 2e-3, weight decay 0.01, with :class:`OneCycle`.

    The paper's Adadelta (lr 1.0, §III-B) is ``--model.init_args.optimizer torch.optim.Adadelta`` with
    ``--model.init_args.lr_scheduler lprzoo.recognize.schedules.Constant``.
    """
    return torch.optim.AdamW(params, lr=2e-3, weight_decay=0.01)


class CRNNModule(pl.LightningModule):
    """Trains a CRNN with CTC loss and reports RA / CRA / CRA-C / CRA-NC / top-N on validate and test.

    Args:
        arch: registered model name (``lprzoo.list_models()``), e.g. ``crnn``, ``lightcrnn-1.2``.
        arch_kwargs: extra keyword arguments of that model's builder (e.g. ``{"width_mult": 0.75}``).
        extra_chars: characters appended to the paper's 67; must equal the data module's (checked when a run starts).
        optimizer: any ``torch.optim`` optimizer; AdamW (lr 2e-3, weight decay 0.01) by default.
        lr_scheduler: called as ``lr_scheduler(optimizer, total_steps)`` with the trainer's estimated optimizer
            steps, stepped every step (:mod:`lprzoo.recognize.schedules`: ``OneCycle`` by default, ``WarmupCosine``,
            ``Constant``); ``null`` for none.
        beam_width: prefix beam width for top-N accuracies and predictions.
        top_n: the N of the reported top-N accuracies.
        init_from: a zoo name, ``.ckpt`` or ``.safetensors`` whose weights initialise the network at setup (any
            stage; a ``--ckpt_path`` restored afterwards wins), e.g. the GAN-pretrained model before fine-tuning on
            real crops (§IV-D, curriculum), or a zoo entry for ``lprzoo test --model NAME``.
        channels_last: use the channels-last memory format (faster on CPUs and GPUs; ``docs/benchmarks.md``).
        compile: wrap the network's forward in ``torch.compile``.
    """

    checkpoint_monitor = ("val/RA", "max")  # the CLI keeps the best checkpoint by this (metric, mode)

    def __init__(
        self,
        arch: str = "lightcrnn-1.2",
        arch_kwargs: dict[str, Any] | None = None,
        extra_chars: str = "",
        optimizer: OptimizerCallable = adamw,
        lr_scheduler: StepsScheduler | None = OneCycle,
        beam_width: int = 10,
        top_n: Sequence[int] = (3, 5),
        init_from: str | None = None,
        channels_last: bool = True,
        compile: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler"])
        self.charset = Charset(extra_chars)
        self.model = MODELS.get(arch)(num_classes=self.charset.num_classes, **(arch_kwargs or {}))
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self._forward = torch.compile(self.model) if compile else self.model
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.val_metrics = PlateMetrics(top_n)
        self.test_metrics = PlateMetrics(top_n)
        self._initialised = False

    # ---- weights --------------------------------------------------------------------------------------------
    def load_weights(self, source: str | Path) -> None:
        """Initialise the network from a zoo name, a Lightning checkpoint or a safetensors file (:mod:`lprzoo.weights`).

        The source must have this model's charset and architecture; anything else is a one-line error.
        """
        try:
            state, record = recognizer_state(read_weights(source))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"init_from: no checkpoint at {source}; train it first (the recipe's header names the command), "
                "or give a zoo name (`lprzoo zoo` lists them)"
            ) from None
        if record.charset != self.charset:
            raise CharsetMismatchError(
                f"init_from {source}: trained with {record.charset!r}, but this model has {self.charset!r}"
            )
        if (record.arch, record.arch_kwargs) != (self.hparams.arch, dict(self.hparams.arch_kwargs or {})):
            raise CheckpointError(
                source,
                f"is a {record.arch} {record.arch_kwargs or ''} but the model is {self.hparams.arch}; "
                f"set --model.init_args.arch {record.arch}",
            )
        self.model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        log.info("initialised %s from %s", self.hparams.arch, source)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["charset"] = self.charset.chars

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        chars = checkpoint.get("charset")
        if chars is not None and chars != self.charset.chars:
            raise CharsetMismatchError(
                f"the checkpoint's charset has {len(chars) + 1} classes (extra {chars[67:]!r}) but "
                f"this model has {self.charset!r}; set model.extra_chars / data.extra_chars to match"
            )

    def setup(self, stage: str) -> None:
        if self.hparams.init_from and not self._initialised:
            # Any stage: `lprzoo test --model NAME` evaluates a zoo entry this way.  setup runs before Lightning
            # restores `--ckpt_path`, so a resumed run (or an explicit checkpoint) still gets its own weights.
            self.load_weights(self.hparams.init_from)
            self._initialised = True
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        data_charset = getattr(datamodule, "charset", None)
        if data_charset is not None:
            self.charset.check_compatible(data_charset, f"the data module {type(datamodule).__name__}")

    # ---- forward / loss -------------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 48, 160)`` in ``[0, 1]`` -> log-probabilities ``(B, T, K)``."""
        if self.hparams.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self._forward(images).float().log_softmax(-1)

    def ctc_loss(self, log_probs: torch.Tensor, batch: PlateBatch) -> torch.Tensor:
        return ctc_loss(log_probs, batch.targets, batch.target_lengths)

    def training_step(self, batch: PlateBatch, batch_idx: int) -> torch.Tensor:
        loss = self.ctc_loss(self(batch.images), batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch))
        return loss

    # ---- evaluation -----------------------------------------------------------------------------------------
    def decode(self, log_probs: torch.Tensor, beam: bool = True) -> list[Prediction]:
        if beam and self.hparams.beam_width > 1:
            return prefix_beam_search(log_probs, self.charset, self.hparams.beam_width, max(self.hparams.top_n))
        return greedy_decode(log_probs, self.charset)

    def _eval_step(self, batch: PlateBatch, metrics: PlateMetrics, prefix: str) -> list[Prediction]:
        log_probs = self(batch.images)
        self.log(f"{prefix}/loss", self.ctc_loss(log_probs, batch), batch_size=len(batch), sync_dist=True)
        greedy = greedy_decode(log_probs, self.charset)  # the paper's top-1: best path (§IV-C)
        beams = self.decode(log_probs, beam=True)
        metrics.update([p.text for p in greedy], batch.texts, [[t for t, _ in p.topn] for p in beams])
        return greedy

    def _log_metrics(self, metrics: PlateMetrics, prefix: str) -> None:
        values = metrics.compute()  # already reduced over DDP ranks by torchmetrics
        for name, value in values.items():
            self.log(f"{prefix}/{name}", value, prog_bar=name == "RA")
        metrics.reset()

    def validation_step(self, batch: PlateBatch, batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics, "val")

    def test_step(self, batch: PlateBatch, batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics, "test")

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics, "test")

    def predict_step(self, batch: PlateBatch, batch_idx: int) -> list[dict[str, Any]]:
        """One row per image: file, text, confidence, per-character confidences and the top-N with probabilities."""
        preds = self.decode(self(batch.images), beam=True)
        return [
            {
                "file": path,
                "text": p.text,
                "confidence": round(p.confidence, 5),
                "char_confidences": [round(c, 4) for c in p.char_confidences],
                "topn": [[t, round(prob, 5)] for t, prob in p.topn],
            }
            for path, p in zip(batch.paths, preds)
        ]

    # ---- optimisation ---------------------------------------------------------------------------------------
    def configure_optimizers(self):
        optimizer = self.optimizer(self.parameters())
        if self.lr_scheduler is None:
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)  # follows max_epochs, batch size, devices
        scheduler = self.lr_scheduler(optimizer, total_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
