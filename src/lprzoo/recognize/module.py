"""``CRNNModule``: CTC training of a registered recognizer (paper §III-B, §IV-C).

The module only wires training: the network comes from a typed architecture or the model registry by name,
decoding from :mod:`lprzoo.decode`, metrics from :mod:`lprzoo.metrics`.
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

from lprzoo.batch import INPUT, InputContract, PlateBatch
from lprzoo.charset import Charset, CharsetMismatchError
from lprzoo.decode import Prediction, greedy_decode, kind_beam_search, plate_grammar, prefix_beam_search
from lprzoo.errors import CheckpointError
from lprzoo.kinds import COLOURS, ROWS, UNKNOWN
from lprzoo.losses import ctc_loss, frame_entropy
from lprzoo.metrics import ConfidenceMetrics, PlateMetrics
from lprzoo.readings import reading_row
from lprzoo.recognize.crnn import Architecture, LightCRNNArch, arch_argument, canonical_call
from lprzoo.recognize.schedules import OneCycle
from lprzoo.registry import MODELS
from lprzoo.weights import RecognizerRecord, read_weights, recognizer_state

log = logging.getLogger(__name__)

StepsScheduler = Callable[[Optimizer, int], LRScheduler]


def _arch_mismatch(source: str | Path, saved: tuple[str, dict[str, Any]], model: tuple[str, dict[str, Any]]):
    def describe(arch: str, kwargs: dict[str, Any]) -> str:
        return f"{arch} {kwargs}" if kwargs else arch

    return CheckpointError(
        source,
        f"is a {describe(*saved)} but the model is {describe(*model)}; "
        f"set --model.init_args.arch '{arch_argument(*saved)}'",
    )


def adamw(params) -> Optimizer:
    """The project's training set-up (docs/results.md): AdamW, lr 2e-3, weight decay 0.01, with :class:`OneCycle`.

    The paper's Adadelta (lr 1.0, §III-B) is ``--model.init_args.optimizer torch.optim.Adadelta`` with
    ``--model.init_args.lr_scheduler lprzoo.recognize.schedules.Constant``.
    """
    return torch.optim.AdamW(params, lr=2e-3, weight_decay=0.01)


class CRNNModule(pl.LightningModule):
    """Trains a CRNN with CTC loss and reports RA / CRA / CRA-C / CRA-NC / top-N on validate and test.

    Args:
        arch: the network: a typed architecture (``LightCRNNArch``, ``StandardCRNNArch``, ``TimmCRNNArch``; by
            default LightCRNN with width multiplier 1.2, so ``--model.arch.width_mult 0.75`` changes it) or a
            registered name (``lprzoo.list_models()``, e.g. ``crnn-resnet18``).  Checkpoints store it as the
            registered builder call ``arch`` + ``arch_kwargs`` (``Architecture.registry_call``), plain data.  A new
            ``class_path`` keeps the settings the classes share (``hidden``, jsonargparse #460); their defaults agree.
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
        kind_head: also predict each plate's colour and rows (:mod:`lprzoo.kinds`), trained with cross-entropy on
            the items whose kind the data module knows (renders exactly, photos by label and hue).
        kind_weight: the kind loss's weight beside the CTC loss.
        pseudo_confidence_penalty: the weight of a confidence penalty (:func:`lprzoo.losses.frame_entropy`, Pereyra
            et al. 2017) on the pseudo-labelled items of a batch (paths ``pseudo:...``, :class:`BlendedDataModule`):
            self-training on its own readings teaches a reader to be sure of its mistakes on the new camera, which
            no label there can show (docs/confidence.md).  0: none.
        contract: the input contract (size, normalisation, layout) the network is trained at, and which its
            checkpoints and records carry; linked from ``data.contract`` by the CLI.
    """

    checkpoint_monitor = ("val/RA", "max")  # the CLI keeps the best checkpoint by this (metric, mode)

    def __init__(
        self,
        arch: Architecture | str = LightCRNNArch(width_mult=1.2),  # immutable, so a shared default is safe
        extra_chars: str = "",
        optimizer: OptimizerCallable = adamw,
        lr_scheduler: StepsScheduler | None = OneCycle,
        beam_width: int = 10,
        top_n: Sequence[int] = (3, 5),
        init_from: str | None = None,
        channels_last: bool = True,
        compile: bool = False,
        kind_head: bool = False,
        kind_weight: float = 0.1,
        pseudo_confidence_penalty: float = 0.0,
        contract: InputContract = INPUT,
    ) -> None:
        super().__init__()
        if isinstance(contract, dict):  # `load_from_checkpoint` passes the saved hyper-parameters back: plain data
            contract = InputContract.from_dict(contract)
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler", "arch", "contract"])
        self.save_hyperparameters({"contract": contract.to_dict()})  # plain data: checkpoints are read weights_only
        self.contract = contract
        # checkpoints and records keep the architecture as its registered builder call: plain data, which
        # `torch.load(weights_only=True)` reads (an Architecture object would need unpickling)
        name, kwargs = arch.registry_call() if isinstance(arch, Architecture) else (arch, {})
        self.save_hyperparameters({"arch": name, "arch_kwargs": kwargs})  # added to the others, loggers included
        self.charset = Charset(extra_chars)
        self._build()
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.val_metrics = PlateMetrics(top_n)
        self.test_metrics = PlateMetrics(top_n)
        self.test_confidence = ConfidenceMetrics()  # `lprzoo test` reports ECE and coverage at 99 % precision
        self._initialised = False
        self._calibrated: RecognizerRecord | None = None  # the source record, while its calibration holds
        self._reader = None

    def _build(self) -> None:
        """The network of the hyper-parameters' ``arch`` + ``arch_kwargs``, as a record rebuilds it."""
        self.model = MODELS.get(self.hparams.arch)(num_classes=self.charset.num_classes, **self.hparams.arch_kwargs)
        if self.hparams.get("kind_head"):
            self.model.attach_kind_head(len(COLOURS), len(ROWS))
        if hasattr(self.model, "set_normalisation"):  # the contract is applied, not only recorded
            contract = InputContract.from_dict(self.hparams.get("contract") or INPUT.to_dict())
            self.model.set_normalisation(contract.mean, contract.std)
        if self.hparams.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self._forward = torch.compile(self.model) if self.hparams.compile else self.model

    @property
    def _arch(self) -> tuple[str, dict[str, Any]]:
        return self.hparams.arch, dict(self.hparams.arch_kwargs)

    def _same_arch(self, arch: str, arch_kwargs: dict[str, Any]) -> bool:
        """Whether ``arch`` + ``arch_kwargs`` build this network (``lightcrnn-1.2`` is ``LightCRNNArch(1.2)``)."""
        return canonical_call(arch, arch_kwargs) == canonical_call(*self._arch)

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
        extends = record.charset != self.charset and self.charset.chars.startswith(record.charset.chars)
        if record.charset != self.charset and not extends:
            raise CharsetMismatchError(
                f"init_from {source}: trained with {record.charset!r}, but this model has {self.charset!r}"
            )
        if not self._same_arch(record.arch, record.arch_kwargs):
            raise _arch_mismatch(source, (record.arch, record.arch_kwargs), self._arch)
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        if extends:  # an extended alphabet keeps the source's classes in its first rows (lprzoo.charset)
            own = self.model.state_dict()
            for key in ("head.fc.weight", "head.fc.bias"):
                grown = own[key].clone()
                grown[: state[key].shape[0]] = state[key]
                state[key] = grown
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("kind_head.") for k in missing):
            raise _arch_mismatch(source, (record.arch, record.arch_kwargs), self._arch)
        # a calibrated source's confidence, operating point and re-reading hold for its weights as they are:
        # `lprzoo predict` / `lprzoo test --model NAME` read as `lprzoo.load(NAME)` does, until training changes them
        self._calibrated = record if record.calibration is not None and not extends else None
        self._reader = None
        log.info("initialised %s from %s%s%s", self.hparams.arch, source,
                 f" (alphabet extended by {self.charset.chars[len(record.charset.chars):]!r})" if extends else "",
                 " (new kind head)" if missing else "")  # fmt: skip

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["charset"] = self.charset.chars

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        chars = checkpoint.get("charset")
        if chars is not None and chars != self.charset.chars:
            raise CharsetMismatchError(
                f"the checkpoint's charset has {len(chars) + 1} classes (extra {chars[67:]!r}) but "
                f"this model has {self.charset!r}; set model.extra_chars / data.extra_chars to match"
            )
        saved = checkpoint.get("hyper_parameters") or {}
        if not isinstance(saved.get("arch"), str):
            return
        arch, arch_kwargs = saved["arch"], dict(saved.get("arch_kwargs") or {})
        if self._same_arch(arch, arch_kwargs):
            return
        if self._trainer is not None:  # the trainer has seen this network already: refuse, in one line
            raise _arch_mismatch(self._trainer.ckpt_path or "the checkpoint", (arch, arch_kwargs), self._arch)
        # `CRNNModule.load_from_checkpoint` passes the saved `arch` but drops `arch_kwargs` (no argument of
        # __init__): the checkpoint's own architecture wins, as with `lprzoo predict --ckpt_path`
        self.hparams.update(arch=arch, arch_kwargs=arch_kwargs)
        self._build()

    def on_train_start(self) -> None:
        self._calibrated = self._reader = None  # weights about to change: the source's calibration no longer holds

    def calibrated_reader(self):
        """The :class:`~lprzoo.reader.PlateReader` of the calibrated weights this model was initialised from and
        has not trained since (``None`` otherwise): ``predict`` and ``test`` read through it."""
        if self._calibrated is None:
            return None
        if self._reader is None:
            from lprzoo.reader import PlateReader

            width, top = self.hparams.beam_width, max(self.hparams.top_n)
            self._reader = PlateReader(self.model, self._calibrated, self.device, beam_width=width, top_n=top)
        return self._reader

    @staticmethod
    def _plates(images: torch.Tensor) -> torch.Tensor:
        """A batch's ``(B, 3, H, W)`` floats in ``[0, 1]`` -> the ``uint8`` plates they were made from."""
        return images.mul(255).round_().clamp_(0, 255).to(torch.uint8)

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
        data_contract = getattr(datamodule, "contract", None)
        if data_contract is not None and data_contract.size != self.contract.size:
            raise ValueError(
                f"the data module makes {data_contract.size} plates but the model's contract is {self.contract.size}; "
                "set data.contract (the CLI links it to model.contract)"
            )

    # ---- forward / loss -------------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 48, 160)`` in ``[0, 1]`` -> log-probabilities ``(B, T, K)``."""
        return self.forward_with_kind(images)[0]

    def forward_with_kind(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, H, W)`` -> log-probabilities ``(B, T, K)`` and kind logits ``(B, colours + rows)`` (``(B, 0)``
        without a kind head)."""
        if self.hparams.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        logits, kind = self._forward(images, with_kind=True)
        return logits.float().log_softmax(-1), kind.float()

    def ctc_loss(self, log_probs: torch.Tensor, batch: PlateBatch) -> torch.Tensor:
        return ctc_loss(log_probs, batch.targets, batch.target_lengths)

    def kind_loss(self, kind_logits: torch.Tensor, batch: PlateBatch) -> torch.Tensor:
        """Cross-entropy of the colour and of the rows over the items whose kind is known (``-1``: ignored)."""
        if batch.kinds is None or kind_logits.shape[1] == 0:
            return kind_logits.new_zeros(())
        colours, rows = kind_logits[:, : len(COLOURS)], kind_logits[:, len(COLOURS) :]
        loss = kind_logits.new_zeros(())
        for logits, target in ((colours, batch.kinds[:, 0]), (rows, batch.kinds[:, 1])):
            if (target >= 0).any():
                loss = loss + torch.nn.functional.cross_entropy(logits, target, ignore_index=UNKNOWN)
        return loss

    def training_step(self, batch: PlateBatch, batch_idx: int) -> torch.Tensor:
        log_probs, kind_logits = self.forward_with_kind(batch.images)
        loss = self.ctc_loss(log_probs, batch)
        if self.hparams.get("kind_head"):
            kind = self.kind_loss(kind_logits, batch)
            self.log("train/kind_loss", kind, batch_size=len(batch))
            loss = loss + self.hparams.kind_weight * kind
        if self.hparams.get("pseudo_confidence_penalty"):
            pseudo = batch.from_source("pseudo").to(log_probs.device)
            if pseudo.any():
                entropy = frame_entropy(log_probs[pseudo]).mean()
                self.log("train/pseudo_entropy", entropy, batch_size=int(pseudo.sum()))
                loss = loss - self.hparams.pseudo_confidence_penalty * entropy
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch))
        return loss

    # ---- evaluation -----------------------------------------------------------------------------------------
    def decode(
        self, log_probs: torch.Tensor, beam: bool = True, kind_logits: torch.Tensor | None = None
    ) -> list[Prediction]:
        """Greedy, or the beam's top-N as a reader gives them: plates, of the predicted kind where the kind head is
        sure of it (:func:`lprzoo.decode.kind_beam_search`)."""
        if beam and self.hparams.beam_width > 1:  # top-N alternatives are plates (a grammar-constrained beam)
            k, n = self.hparams.beam_width, max(self.hparams.top_n)
            if kind_logits is not None and kind_logits.shape[1]:
                return kind_beam_search(log_probs, self.charset, k, n, kind_logits.float().cpu(), plate_grammar())
            return prefix_beam_search(log_probs, self.charset, k, n, grammar=plate_grammar())
        return greedy_decode(log_probs, self.charset)

    def _eval_step(self, batch: PlateBatch, metrics: PlateMetrics, prefix: str) -> list[Prediction]:
        log_probs, kind_logits = self.forward_with_kind(batch.images)
        if kind_logits.shape[1] and batch.kinds is not None and (batch.kinds[:, 0] >= 0).any():
            known = batch.kinds[:, 0] >= 0
            right = kind_logits[known, : len(COLOURS)].argmax(1) == batch.kinds[known, 0]
            self.log(f"{prefix}/colour_accuracy", right.float().mean(), batch_size=int(known.sum()), sync_dist=True)
        self.log(f"{prefix}/loss", self.ctc_loss(log_probs, batch), batch_size=len(batch), sync_dist=True)
        greedy = greedy_decode(log_probs, self.charset)  # the paper's top-1: best path (§IV-C)
        beams = self.decode(log_probs, beam=True, kind_logits=kind_logits)
        metrics.update([p.text for p in greedy], batch.texts, [[t for t, _ in p.topn] for p in beams])
        if prefix == "test":  # the reading a reader returns (beam top-1) and its confidence, calibrated if it is
            reader = self.calibrated_reader()
            read = beams if reader is None else reader.read_plates(self._plates(batch.images))
            self.test_confidence.update([p.confidence for p in read], [p.text == t for p, t in zip(read, batch.texts)])
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
        for name, value in self.test_confidence.compute().items():
            self.log(f"test/{name}", value.float())
        if self.trainer.is_global_zero and self.trainer.log_dir:  # the pictures, beside the run's logs
            from lprzoo.viz import confidence_report

            confidence, correct = self.test_confidence.pairs()
            folder = Path(self.trainer.log_dir) / "confidence"
            confidence_report(confidence, correct, "test", folder)
            log.info("test: reliability diagram and risk-coverage curve -> %s", folder)
        self.test_confidence.reset()

    def predict_step(self, batch: PlateBatch, batch_idx: int) -> list[dict[str, Any]]:
        """One row per image: file, text, confidence, per-character confidences and the top-N with probabilities."""
        reader = self.calibrated_reader()
        if reader is not None:  # a calibrated model: its readings and confidences are those of `lprzoo.load`
            preds = reader.read_plates(self._plates(batch.images))
        else:
            log_probs, kind_logits = self.forward_with_kind(batch.images)
            preds = self.decode(log_probs, beam=True, kind_logits=kind_logits)
        return [
            reading_row(path, p.text, p.confidence, p.char_confidences, p.topn) for path, p in zip(batch.paths, preds)
        ]

    # ---- optimisation ---------------------------------------------------------------------------------------
    def configure_optimizers(self):
        optimizer = self.optimizer(self.parameters())
        if self.lr_scheduler is None:
            return optimizer
        total_steps = int(self.trainer.estimated_stepping_batches)  # follows max_epochs, batch size, devices
        scheduler = self.lr_scheduler(optimizer, total_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
