"""``lprzoo``: a thin ``LightningCLI`` subclass (``fit | validate | test | predict``) plus ``render`` and
``translate``.

Recipes are YAML files of ``class_path`` / ``init_args`` that override defaults only:
``lprzoo fit --config recipes/real_baseline.yaml [--trainer.max_epochs 5 ...]``.
"""

from __future__ import annotations

import logging
import os
import sys

from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lprzoo.callbacks import InterruptedCheckpoint, PredictionWriter, RunSummary, SamplePredictions
from lprzoo.charset import CharsetMismatchError, UnknownCharacterError
from lprzoo.data.sources import InvalidSampleError
from lprzoo.refine.translate import translate

log = logging.getLogger("lprzoo")

DEFAULT_ROOT = "runs/lprzoo"


def _checkpoint_dir(root: str) -> str:
    return os.path.join(root, "checkpoints")


class LprzooCLI(LightningCLI):
    """Adds lprzoo's default callbacks and loggers; every one of them is configurable from a recipe.

    - ``checkpoint``: the best model by ``val/RA``; ``last_checkpoint``: ``last.ckpt`` after every epoch (or every
      ``--last_checkpoint.every_n_train_steps``), both in ``<default_root_dir>/checkpoints`` so that
      ``--ckpt_path last`` resumes an interrupted run; ``interrupted.ckpt`` is saved on Ctrl-C or a crash
      once training has stepped (``--ckpt_path last`` picks the newer of the two).
    - ``samples``: a picture of validation predictions per epoch; ``predict_writer``: CSV/JSONL predictions.
    - Loggers default to CSV + TensorBoard under ``<default_root_dir>``; set ``trainer.logger`` for W&B.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # Two checkpoint callbacks: Lightning's `save_last` only refreshes last.ckpt when a top-k checkpoint is
        # saved, which would lose every epoch after the best one on an interruption.
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/RA",
                "checkpoint.mode": "max",
                "checkpoint.filename": "best-{epoch:03d}-{step}",
                "last_checkpoint.monitor": None,
                "last_checkpoint.save_top_k": 1,
                "last_checkpoint.filename": "last",
                "last_checkpoint.enable_version_counter": False,
                "last_checkpoint.save_on_train_epoch_end": True,
                "trainer.default_root_dir": DEFAULT_ROOT,
                # so `lprzoo predict --ckpt_path X --data.predict DIR` needs no recipe: the checkpoint's
                # hyper-parameters configure the model (LightningCLI reads them from `ckpt_path`).
                "model": {"class_path": "lprzoo.CRNNModule"},
                "data": {"class_path": "lprzoo.RealPlatesDataModule"},
            }
        )
        parser.link_arguments("trainer.default_root_dir", "checkpoint.dirpath", compute_fn=_checkpoint_dir)
        parser.link_arguments("trainer.default_root_dir", "last_checkpoint.dirpath", compute_fn=_checkpoint_dir)
        parser.add_lightning_class_args(SamplePredictions, "samples")
        parser.add_lightning_class_args(PredictionWriter, "predict_writer")

    def instantiate_trainer(self, **kwargs):
        config = self._get(self.config_init, "trainer", default={})
        root = config.get("default_root_dir") or DEFAULT_ROOT
        if config.get("logger") in (None, True):
            kwargs["logger"] = [CSVLogger(root, name="logs"), TensorBoardLogger(root, name="tensorboard")]
        extra = [InterruptedCheckpoint(_checkpoint_dir(root), filename="interrupted"), RunSummary()]
        wants_bar = config.get("enable_progress_bar") is not False
        if wants_bar and not any(isinstance(cb, RichProgressBar) for cb in config.get("callbacks") or []):
            extra.append(RichProgressBar())
        kwargs["callbacks"] = list(config.get("callbacks") or []) + extra
        return super().instantiate_trainer(**kwargs)


def run_cli(args: list[str] | None = None, run: bool = True) -> LprzooCLI:
    """Entry point used by ``main`` and by tests (``run=False`` only parses and instantiates)."""
    from lightning.pytorch import LightningDataModule, LightningModule

    import lprzoo  # noqa: F401  (registers every model and data module)

    return LprzooCLI(
        LightningModule,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=args,
        run=run,
        save_config_kwargs={"overwrite": True},
    )


def render(
    spec: str = "blue",
    n: int = 1000,
    out: str = "renders/blue",
    seed: int = 0,
    workers: int = 2,
    degradations: str = "default",
    preview: str | None = None,
) -> None:
    """Render a labelled dataset: ``<out>/NNNNNNN_<label>.jpg`` plus ``labels.tsv`` (paper §IV-C).

    Resumable: run the same command again after an interruption and only the missing images are drawn.

    Args:
        spec: plate spec (blue, yellow, green, yellow-double, police, or any registered one).
        n: number of plates.
        out: output folder.
        seed: image i depends only on (seed, i).
        workers: render processes.
        degradations: degradation preset: default, paper or none.
        preview: a PNG path for a grid of sample plates.
    """
    from lprzoo.render import render_to_folder

    labels = render_to_folder(spec, n, out, seed=seed, workers=workers, preview=preview, degradations=degradations)
    log.info("wrote %d plates and %s", n, labels)
    if preview:
        log.info("preview -> %s", preview)


COMMANDS = {"render": render, "translate": translate}

# Errors a user can fix: print the message, not a traceback.
USER_ERRORS = (InvalidSampleError, CharsetMismatchError, UnknownCharacterError, FileNotFoundError, NotADirectoryError)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args and args[0] in COMMANDS:
            from jsonargparse import auto_cli

            auto_cli(COMMANDS[args[0]], args=args[1:])
        else:
            run_cli(argv)  # None: LightningCLI reads sys.argv itself
    except USER_ERRORS as e:
        lines = str(e).strip().splitlines()  # from a loader worker, the message carries the worker's traceback
        log.error("%s", lines[-1].split("InvalidSampleError: ")[-1] if lines else e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
