"""``CRNNModule``: CTC training of a registered recognizer (paper §III-B, §IV-C).

The module only wires training: the network comes from the model registry by name, decoding from
:mod:`lprzoo.decode`, metrics from :mod:`lprzoo.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from lprzoo.charset import Charset, CharsetMismatchError
from lprzoo.data.batch import PlateBatch
from lprzoo.decode import Prediction, greedy_decode, prefix_beam_search
from lprzoo.metrics import PlateMetrics
from lprzoo.registry import MODELS

log = logging.getLogger(__name__)


def _adadelta(params) -> torch.optim.Optimizer:
    """The paper's optimizer (§III-B): Adadelta, lr 1.0, no manual learning-rate schedule."""
    return torch.optim.Adadelta(params, lr=1.0)


class CRNNModule(pl.LightningModule):
    """Trains a CRNN with CTC loss and reports RA / CRA / CRA-C / CRA-NC / top-N on validate and test.

    Args:
        arch: registered model name (``lprzoo.list_models()``), e.g. ``crnn``, ``lightcrnn-1.2``.
        arch_kwargs: extra keyword arguments of that model's builder (e.g. ``{"width_mult": 0.75}``).
        extra_chars: characters appended to the paper's 67; must equal the data module's (checked when a run starts).
        optimizer: any ``torch.optim`` optimizer; Adadelta (lr 1.0) as in the paper by default.
        lr_scheduler: any LR scheduler, stepped every ``scheduler_interval``.
        beam_width: prefix beam width for top-N accuracies and predictions.
        top_n: the N of the reported top-N accuracies.
        init_from: a checkpoint (``.ckpt`` or ``.safetensors``) whose weights initialise the network when ``fit``
            starts, e.g. the GAN-pretrained model before fine-tuning on real crops (§IV-D, curriculum).
        channels_last: use the channels-last memory format (a CPU/GPU speed lever; see ``docs/benchmarks.md``).
        compile: wrap the network's forward in ``torch.compile``.
    """

    def __init__(
        self,
        arch: str = "lightcrnn-1.2",
        arch_kwargs: dict[str, Any] | None = None,
        extra_chars: str = "",
        optimizer: OptimizerCallable = _adadelta,
        lr_scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: Literal["step", "epoch"] = "step",
        beam_width: int = 10,
        top_n: Sequence[int] = (3, 5),
        init_from: str | None = None,
        channels_last: bool = False,
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
    def load_weights(self, path: str | Path) -> None:
        """Initialise the network from a Lightning checkpoint or a safetensors file of the same charset."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"init_from: no checkpoint at {path}; train it first (the recipe's header names the command, "
                "e.g. `lprzoo fit --config recipes/gan_only.yaml` writes runs/gan_only/checkpoints/last.ckpt)"
            )
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(path)
            chars = None
        else:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
            chars = ckpt.get("charset")
        if chars is not None and chars != self.charset.chars:
            raise CharsetMismatchError(f"{path} was trained with a different charset ({len(chars) + 1} classes)")
        self.model.load_state_dict(state)
        log.info("initialised %s from %s", self.hparams.arch, path)

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
        if stage == "fit" and self.hparams.init_from and not self._initialised:
            # setup runs before Lightning restores `--ckpt_path`, so a resumed run still gets its own weights
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
        b, t, _ = log_probs.shape
        input_lengths = torch.full((b,), t, dtype=torch.long, device=log_probs.device)
        return F.ctc_loss(
            log_probs.transpose(0, 1),  # (T, B, K)
            batch.targets,
            input_lengths,
            batch.target_lengths,
            blank=0,
            zero_infinity=True,
        )

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
        scheduler = self.lr_scheduler(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.hparams.scheduler_interval},
        }
