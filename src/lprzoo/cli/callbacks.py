"""Lightning callbacks the CLI adds: prediction files, run summaries and pictures of predictions."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities import rank_zero_only

from lprzoo.decode import greedy_decode
from lprzoo.errors import LprzooError
from lprzoo.folders import exclusive
from lprzoo.readings import ReadingsFile, review_path

log = logging.getLogger(__name__)


class PredictionWriter(BasePredictionWriter):
    """Writes ``lprzoo predict`` rows to CSV or JSONL: file, text, confidence, char confidences, top-N
    (:mod:`lprzoo.readings`).

    Readings whose confidence is below ``min_confidence`` go to the review file ``<stem>.review<suffix>`` beside
    ``output``, with their top-N, instead of ``output`` (the reject option; ``lprzoo calibrate`` gives the threshold
    for a precision).  Under DDP each rank writes ``<stem>.rank<N><suffix>``.  Rows are appended batch by batch to
    ``<file>.partial``, renamed into place only when the run ends, so a run that dies never leaves a half-written
    file (its rows so far stay in the ``.partial`` file).

    Args:
        output: ``.csv`` or ``.jsonl`` path.
        format: ``auto`` picks by the file extension.
        min_confidence: readings below it go to the review file (0: every reading goes to ``output``).
    """

    def __init__(
        self,
        output: str = "runs/predict/predictions.csv",
        format: Literal["auto", "csv", "jsonl"] = "auto",
        min_confidence: float = 0.0,
    ) -> None:
        super().__init__(write_interval="batch")
        if not 0 <= min_confidence <= 1:
            raise LprzooError(f"--predict_writer.min_confidence must lie in [0, 1], got {min_confidence}")
        self.output = Path(output)
        self.format = format
        self.min_confidence = min_confidence
        self._files: dict[str, ReadingsFile] = {}
        self._lock = contextlib.ExitStack()

    @property
    def partial(self) -> Path | None:
        """Where accepted rows go until the run ends."""
        return self._files["accepted"].partial if self._files else None

    @property
    def rows_written(self) -> int:
        return sum(f.rows for f in self._files.values())

    def check_output(self) -> None:
        """Fail before any work when ``output`` cannot be written: a folder, or a folder that cannot be made."""
        check_writable_file(self.output, "--predict_writer.output")

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        path = self.output
        if trainer.world_size > 1:
            path = path.with_name(f"{path.stem}.rank{trainer.global_rank}{path.suffix}")
        self._lock = contextlib.ExitStack()  # held until the run ends: a second predict on this output refuses
        busy = f"{path}: another lprzoo predict is writing this output; wait for it, or choose another output"
        self._lock.enter_context(exclusive(path.with_name(f".{path.name}.lock"), busy=busy))
        self._files = {"accepted": ReadingsFile(path, self.format)}
        if self.min_confidence > 0:
            self._files["review"] = ReadingsFile(review_path(path), self.format)

    def write_on_batch_end(self, trainer, pl_module, prediction: list[dict[str, Any]], *args: Any) -> None:
        review = self._files.get("review")
        self._files["accepted"].append(
            r for r in prediction if review is None or r["confidence"] >= self.min_confidence
        )
        if review is not None:
            review.append(r for r in prediction if r["confidence"] < self.min_confidence)

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        with self._lock:
            self._commit()
        loaders = trainer.predict_dataloaders
        images = sum(len(loader.dataset) for loader in (loaders if isinstance(loaders, list | tuple) else [loaders]))
        if trainer.world_size == 1 and self.rows_written < images:  # `--data.skip_invalid true` dropped the rest
            log.warning("%d of %d files are not readable images: skipped, no row", images - self.rows_written, images)

    def _commit(self) -> None:
        accepted, review = self._files["accepted"], self._files.get("review")
        accepted.commit()
        if review is None:
            log.info("wrote %d predictions to %s", accepted.rows, accepted.path)
        else:
            review.commit()
            log.info("wrote %d predictions to %s and %d below confidence %g to review to %s",
                     accepted.rows, accepted.path, review.rows, self.min_confidence, review.path)  # fmt: skip

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if self.partial is not None and self.partial.exists():
            log.warning("predict stopped: its %d rows so far are in %s", self.rows_written, self.partial)
        self._lock.close()


def check_not_an_input(output: Path, sources: str | list[str] | None) -> None:
    """Refuse an output that would overwrite one of the run's inputs: an input file itself, or the labels file of an
    input folder (``predict --predict_writer.output photos/labels.tsv`` replaced the ground truth)."""
    if not sources:
        return
    target = output.expanduser().resolve()
    for source in [sources] if isinstance(sources, str) else list(sources):
        path = Path(source).expanduser().resolve()
        inputs = {path} | ({path / n for n in ("labels.tsv", "labels.csv")} if path.is_dir() else set())
        if target in inputs or (path.is_dir() and target.parent == path and target.suffix in (".tsv", ".csv")):
            raise LprzooError(
                f"{output}: --predict_writer.output would overwrite an input of this run ({source}); "
                "write predictions somewhere else, e.g. runs/predict/predictions.csv"
            )


def check_writable_file(path: Path, what: str) -> None:
    """Raise a one-line :class:`LprzooError` when ``path`` cannot become a file: a folder, or an unwritable place."""
    if path.is_dir():
        raise LprzooError(f"{path}: {what} is a folder; give a file path such as {path / 'predictions.csv'}")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".lprzoo-write-test-"):
            pass
    except OSError as e:
        raise LprzooError(f"{path}: {what} cannot be written ({e.strerror or e})") from None


class InterruptedCheckpoint(pl.Callback):
    """``interrupted.ckpt`` on Ctrl-C or a crash, once training has taken a step.

    A run that fails while it sets up (a charset mismatch, a missing file) has nothing to keep, and its checkpoint
    would be resumed by the next ``lprzoo fit --ckpt_path last`` of that folder, which would then fail on the
    stale settings. Not Lightning's ``OnExceptionCheckpoint``: with one of those, every ``fit`` without a
    ``ckpt_path`` silently resumes from ``last`` (and warns about it); ``LprzooCLI`` resolves ``--ckpt_path last``
    to the newer of ``last.ckpt`` and this file instead.
    """

    def __init__(self, dirpath: str | Path, filename: str = "interrupted") -> None:
        self.dirpath = str(dirpath)
        self.filename = filename

    @property
    def ckpt_path(self) -> str:
        return os.path.join(self.dirpath, self.filename + ".ckpt")

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if trainer.global_step > 0:
            trainer.save_checkpoint(self.ckpt_path, weights_only=False)  # the whole state, to resume from
            log.warning("stopped at step %d; continue with: %s", trainer.global_step, resume_command(sys.argv))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":  # a fit that finished: last.ckpt holds everything
            trainer.strategy.remove_checkpoint(self.ckpt_path)


def resume_command(argv: list[str]) -> str:
    """The command line that continues an interrupted ``lprzoo fit``: the same one with ``--ckpt_path last``."""
    args, skip = [], False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a == "--ckpt_path":
            skip = True
            continue
        if not a.startswith("--ckpt_path="):
            args.append(a)
    import shlex

    return "lprzoo " + " ".join(shlex.quote(a) for a in [*args, "--ckpt_path", "last"])


class LogProgress(pl.Callback):
    """Progress as log lines, for logs that are files or pipes (CI, ``nohup``, ``tee``), where no bar is drawn.

    A line every ``interval`` seconds while training (epoch, step, loss, elapsed, ETA from the trainer's estimated
    steps) and one per validation with its metrics; while testing or predicting, a line every ``interval`` seconds
    with the batch, elapsed and ETA (a folder of thousands of photos read under ``nohup``).  In a terminal the rich
    bar shows the same, so the CLI adds this callback only when stderr is not one.

    Args:
        interval: seconds between training lines; default ``$LPRZOO_LOG_EVERY_S`` or 30.
    """

    def __init__(self, interval: float | None = None) -> None:
        self.interval = float(os.environ.get("LPRZOO_LOG_EVERY_S", 30)) if interval is None else interval
        self._start = self._last = 0.0
        self._first_step = 0

    def _due(self) -> float | None:
        """Seconds since the stage began when a line is due (``interval`` since the last one), else ``None``."""
        now = time.monotonic()
        if now - self._last < self.interval:
            return None
        self._last = now
        return now - self._start

    @rank_zero_only
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = self._last = time.monotonic()
        self._first_step = trainer.global_step  # a resumed run's ETA counts only the steps it takes itself

    @rank_zero_only
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        elapsed = self._due()
        if elapsed is None:
            return
        total = trainer.estimated_stepping_batches
        done = trainer.global_step - self._first_step
        left = max(total - trainer.global_step, 0) if total != float("inf") else 0
        eta = elapsed / max(done, 1) * left
        loss = trainer.callback_metrics.get("train/loss")
        log.info(
            "epoch %d/%d  step %d/%s  loss %s  elapsed %s  ETA %s",
            trainer.current_epoch + 1, trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?",
            trainer.global_step, int(total) if total != float("inf") else "?",
            f"{float(loss):.4f}" if loss is not None else "–", _clock(elapsed), _clock(eta),
        )  # fmt: skip

    @rank_zero_only
    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = self._last = time.monotonic()

    on_predict_start = on_test_start

    @rank_zero_only
    def on_test_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self._reading_line("test", trainer.num_test_batches, batch_idx)

    @rank_zero_only
    def on_predict_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self._reading_line("predict", trainer.num_predict_batches, batch_idx)

    def _reading_line(self, stage: str, batches: list[int | float], batch_idx: int) -> None:
        elapsed = self._due()
        if elapsed is None:
            return
        total, done = sum(batches), batch_idx + 1  # one dataloader: its batches; the ETA assumes steady batches
        known = total != float("inf")
        eta = _clock(elapsed / done * max(total - done, 0)) if known else "?"
        log.info("%s: batch %d/%s  elapsed %s  ETA %s", stage, done, int(total) if known else "?", _clock(elapsed), eta)

    @rank_zero_only
    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k.removeprefix("val/"): float(v) for k, v in trainer.callback_metrics.items() if k[:4] == "val/"}
        if metrics:
            summary = "  ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
            log.info("validation after epoch %d (step %d): %s", trainer.current_epoch + 1, trainer.global_step, summary)


def _clock(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{s:02d}"


class RunSummary(pl.Callback):
    """Says where checkpoints, logs and pictures of a run went, and the final validation metrics."""

    @rank_zero_only
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        log.info("checkpoints -> %s", getattr(trainer.checkpoint_callback, "dirpath", None))
        for logger in trainer.loggers:
            log.info("%s -> %s", type(logger).__name__, logger.log_dir or logger.save_dir)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = {k: round(float(v), 4) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        log.info("fit done after %d steps", trainer.global_step)
        for ckpt in trainer.checkpoint_callbacks:
            path = getattr(ckpt, "best_model_path", "")
            if path:
                score = getattr(ckpt, "best_model_score", None)
                what = f"best by {ckpt.monitor} = {float(score):.4f}" if ckpt.monitor and score is not None else "last"
                log.info("checkpoint (%s): %s", what, path)
        if metrics:
            summary = "  ".join(f"{k.removeprefix('val/')} {v:.4f}" for k, v in sorted(metrics.items()))
            log.info("validation: %s", summary)
        for cb in trainer.callbacks:
            if isinstance(cb, SamplePredictions) and cb.last_path is not None:
                log.info("sample predictions -> %s", cb.last_path)


class SamplePredictions(pl.Callback):
    """After each validation, saves a picture of validation plates with their predictions (green right, red wrong).

    Pictures go to ``<default_root_dir>/samples/epoch<N>.png`` and to every logger that can take images.

    Args:
        num_images: plates in the picture.
        every_n_epochs: how often.
    """

    def __init__(self, num_images: int = 24, every_n_epochs: int = 1) -> None:
        self.num_images = num_images
        self.every_n_epochs = every_n_epochs
        self.last_path: Path | None = None

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        loaders = trainer.val_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        if loader is None or len(loader.dataset) == 0:
            return
        from lprzoo.viz import prediction_grid

        n = min(self.num_images, len(loader.dataset))
        spread = torch.linspace(0, len(loader.dataset) - 1, n).long().tolist()  # not just the first (sorted) files
        batch = loader.collate_fn([loader.dataset[i] for i in spread])
        with torch.no_grad():
            preds = greedy_decode(pl_module(batch.images.to(pl_module.device)), pl_module.charset)
        picture = prediction_grid(batch.images, [p.text for p in preds], batch.texts, [p.confidence for p in preds])
        path = Path(trainer.default_root_dir) / "samples" / f"epoch{trainer.current_epoch:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path)
        self.last_path = path
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):  # W&B
                logger.log_image("val/samples", [picture], step=trainer.global_step)
            elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoard
                arr = torch.from_numpy(np.array(picture)).permute(2, 0, 1)
                logger.experiment.add_image("val/samples", arr, trainer.global_step)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file in their own folder, flushed to disk, then renamed over the old one.

    Lightning's own save goes through an fsspec transaction whose temporary file lies in ``$TMPDIR``; when that is
    another filesystem (``/tmp`` on tmpfs is common), the final move is a copy, and a ``kill -9`` during it left
    ``last.ckpt`` at 0 bytes with the previous checkpoint gone.  A rename within one folder is atomic: the old
    checkpoint stays whole until the new one is.  Remote paths (``s3://`` ...) keep Lightning's save.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        target = str(path)
        if "://" in target and not target.startswith("file://"):
            return super().save_checkpoint(checkpoint, path, storage_options)
        target = Path(target.removeprefix("file://"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
