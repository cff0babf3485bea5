"""``LprzooCLI``: a thin ``LightningCLI`` subclass behind ``lprzoo fit | validate | test | predict``.

Recipes are YAML files of ``class_path`` / ``init_args`` that override defaults only:
``lprzoo fit --config recipes/real_baseline.yaml [--trainer.max_epochs 5 ...]``.  Imported only when one of those
verbs runs (:mod:`lprzoo.cli` dispatches), so ``lprzoo --help`` and the other verbs start without Lightning.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from jsonargparse import Namespace
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lprzoo.cli.callbacks import (
    AtomicCheckpointIO,
    InterruptedCheckpoint,
    LogProgress,
    PredictionWriter,
    RunSummary,
    SamplePredictions,
    check_not_an_input,
    check_writable_file,
)
from lprzoo.errors import CheckpointError
from lprzoo.precision import choose_precision

log = logging.getLogger("lprzoo")

DEFAULT_ROOT = "runs/lprzoo"


def _checkpoint_dir(root: str) -> str:
    return os.path.join(root, "checkpoints")


# model arguments a checkpoint's hyper-parameters replace (LightningCLI reads them from `--ckpt_path`)
_CHECKPOINT_DECIDES = ("arch", "extra_chars")


def _import(class_path: str) -> Any:
    import importlib

    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _arch_call(value: Any) -> tuple[str, dict[str, Any]] | Any:
    """A model's ``arch`` setting (a name, an ``Architecture``, or its parsed ``class_path`` + ``init_args``) as its
    normalised registry call, so that equal networks compare equal; anything else unchanged."""
    from lprzoo.recognize.crnn import Architecture, canonical_call

    if isinstance(value, (str, Architecture)):
        return canonical_call(value)
    try:
        init_args = value.get("init_args") or {}
        arch = _import(value["class_path"])(**dict(vars(init_args) if isinstance(init_args, Namespace) else init_args))
    except (AttributeError, ImportError, KeyError, TypeError, ValueError):
        return value
    return arch.registry_call() if isinstance(arch, Architecture) else value


def _same(key: str, a: Any, b: Any) -> bool:
    return _arch_call(a) == _arch_call(b) if key == "arch" else a == b


def _init_defaults(class_path: str) -> dict[str, Any]:
    try:
        cls = _import(class_path)
    except (ImportError, AttributeError, ValueError):
        return {}
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _resume_path(config: Any) -> str:
    """``--ckpt_path last`` for ``fit``: the newer of ``last.ckpt`` and ``interrupted.ckpt``, else ``last``."""
    folder = Path(_checkpoint_dir(config.get("trainer.default_root_dir") or DEFAULT_ROOT))
    last = config.get("last_checkpoint.filename") or "last"
    found = [p for p in (folder / f"{last}.ckpt", folder / "interrupted.ckpt") if p.is_file()]
    if not found:
        return "last"  # Lightning says there is nothing to resume and starts afresh
    from lprzoo.weights import read_weights

    for candidate in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True):
        try:  # the check an explicit --ckpt_path FILE gets: readable, and without unpickling anything
            read_weights(candidate)
        except CheckpointError as e:
            log.warning("%s; trying the previous checkpoint", e)
            continue
        log.info("resuming from %s", candidate)
        return str(candidate)
    raise CheckpointError(folder, "no readable checkpoint to resume from (every candidate is damaged); start afresh")


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
                # None: the model class says what its best checkpoint is (`checkpoint_monitor`), so GAN recipes
                # need not undo a recognizer's val/RA
                "checkpoint.monitor": None,
                "checkpoint.mode": "max",  # also keeps its state key apart from last_checkpoint's
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
        # the alphabet is declared once, on the data, and linked to the model
        parser.link_arguments("data.init_args.extra_chars", "model.init_args.extra_chars", apply_on="parse")
        # so is the input contract: the model is trained at the size and layout its record will carry
        parser.link_arguments("data.init_args.contract", "model.init_args.contract", apply_on="parse")
        parser.add_lightning_class_args(SamplePredictions, "samples")
        parser.add_lightning_class_args(PredictionWriter, "predict_writer")

    def parse_arguments(self, parser: LightningArgumentParser, args) -> None:
        self._given_args = [str(a) for a in args] if isinstance(args, (list, tuple)) else []
        with warnings.catch_warnings():  # `main` passes sys.argv[1:] as `args` on purpose
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
            super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """Lightning lets a ``--ckpt_path``'s hyper-parameters replace the model's; a conflicting one is an error.

        ``--model.arch`` / ``extra_chars`` set on the command line or by a recipe, and unlike the checkpoint's, would
        otherwise be dropped without a word.  Architectures compare by the network they build, so the checkpoint's
        ``lightcrnn-1.2`` agrees with ``LightCRNNArch(width_mult=1.2)``.
        """
        sub = self.config.get("subcommand")
        model = self.config[sub].get("model") if sub else None
        before = dict(vars(model.init_args)) if model is not None and model.get("init_args") is not None else {}
        super()._parse_ckpt_path()
        if sub is None or self.config[sub].get("model") is None:
            return
        self._typed_arch_from_checkpoint(self.config[sub])
        if not before:
            return
        after = self.config[sub].model.init_args
        defaults = _init_defaults(model.class_path)
        for key in _CHECKPOINT_DECIDES:
            if key not in before or _same(key, before[key], after.get(key)):
                continue
            flags = (f"--model.{key}", f"--model.init_args.{key}")
            given = any(
                a.split("=", 1)[0] in flags or a.startswith(tuple(f"{f}." for f in flags))
                for a in getattr(self, "_given_args", [])
            )
            if given or not _same(key, before[key], defaults.get(key, before[key])):
                what = " (the charset it was trained with)" if key == "extra_chars" else ""
                raise CheckpointError(
                    self.config[sub].ckpt_path,
                    f"the checkpoint has {key} {_show(after.get(key))}{what}, but {key} {_show(before[key])} was "
                    f"given; drop --model.{key} (the checkpoint decides) or use a checkpoint trained with it",
                )

    @staticmethod
    def _typed_arch_from_checkpoint(config: Namespace) -> None:
        """A checkpoint stores its architecture as a registry call, ``arch`` + ``arch_kwargs`` (plain data); the
        model takes ``arch`` typed, so the pair becomes the ``Architecture`` it names (``arch_kwargs`` is no
        argument any more: Lightning would pass it on as an unknown keyword)."""
        from lprzoo.recognize.crnn import architecture

        model = config.model
        extra = model.get("dict_kwargs") or {}
        if "arch_kwargs" not in extra or model.get("init_args") is None:
            return
        kwargs = dict(extra.pop("arch_kwargs") or {})
        if not extra:
            del model["dict_kwargs"]
        name = model.init_args.get("arch")
        if not isinstance(name, str):
            return
        try:
            typed = architecture(name, kwargs)
        except TypeError as e:
            raise CheckpointError(config.ckpt_path, f"its arch_kwargs {kwargs} do not fit {name} ({e})") from None
        if typed is None:
            if kwargs:
                raise CheckpointError(config.ckpt_path, f"{name} {kwargs} has no typed architecture to rebuild it")
            return
        arch = typed.config()
        model.init_args.arch = Namespace(class_path=arch["class_path"], init_args=Namespace(**arch["init_args"]))

    def before_instantiate_classes(self) -> None:
        """Checks that need no model or data, so that a bad output fails before anything loads."""
        sub = self.subcommand
        config = self.config[sub] if sub else self.config
        _default_monitor(config)
        if sub is None:
            return
        if sub == "predict":
            output = config.get("predict_writer") and config.predict_writer.get("output")
            if output:
                check_writable_file(Path(output), "--predict_writer.output")
                data = config.get("data")
                sources = data.get("init_args", data).get("predict") if data is not None else None
                check_not_an_input(Path(output), sources)
            if config.get("return_predictions") is None:
                config.return_predictions = False  # rows go to the writer batch by batch: flat memory
        if sub == "fit" and config.get("ckpt_path") == "last":
            config.ckpt_path = _resume_path(config)

    def instantiate_trainer(self, **kwargs):
        config = self._get(self.config_init, "trainer", default={})
        if config.get("precision") is None and self.subcommand in ("validate", "test", "predict"):
            kwargs["precision"] = "32-true"  # exact readings, equal to the zoo records' (lprzoo.evaluate)
        elif config.get("precision") is None:  # not set by the recipe or the command line: the machine decides
            kwargs["precision"], why = choose_precision(config.get("accelerator"))
            log.info("precision: %s, because %s (set --trainer.precision to override)", kwargs["precision"], why)
        root = config.get("default_root_dir") or DEFAULT_ROOT
        if config.get("logger") in (None, True):
            kwargs["logger"] = [CSVLogger(root, name="logs"), TensorBoardLogger(root, name="tensorboard")]
        extra = [InterruptedCheckpoint(_checkpoint_dir(root), filename="interrupted"), RunSummary()]
        wants_bar = config.get("enable_progress_bar") is not False
        if wants_bar and not sys.stderr.isatty():  # a log file or a pipe: lines at a steady pace, not a bar
            kwargs["enable_progress_bar"] = False
            extra.append(LogProgress())
        elif wants_bar and not any(isinstance(cb, RichProgressBar) for cb in config.get("callbacks") or []):
            extra.append(RichProgressBar())
        kwargs["callbacks"] = list(config.get("callbacks") or []) + extra
        if not config.get("plugins"):  # checkpoints renamed into place: a kill never leaves a truncated one
            kwargs["plugins"] = [AtomicCheckpointIO()]
        return super().instantiate_trainer(**kwargs)


def _show(value: Any) -> str:
    """An ``arch`` or ``extra_chars`` value for a message: a name as ``'crnn'``, a typed one as its class call."""
    if isinstance(value, Namespace) and "class_path" in value:
        init_args = value.get("init_args")
        args = ", ".join(f"{k}={v!r}" for k, v in (vars(init_args) if init_args is not None else {}).items())
        return f"{value.class_path.rsplit('.', 1)[-1]}({args})"
    return repr(value)


def _default_monitor(config) -> None:
    """Fill ``checkpoint.monitor``/``mode`` from the model class's ``checkpoint_monitor`` unless the run set them."""
    checkpoint, model = config.get("checkpoint"), config.get("model")
    if checkpoint is None or checkpoint.get("monitor") is not None or model is None:
        return
    import importlib

    module, _, name = str(model.class_path).rpartition(".")
    try:
        monitor = getattr(getattr(importlib.import_module(module), name), "checkpoint_monitor", None)
    except (ImportError, AttributeError, ValueError):
        return
    if monitor is not None:
        checkpoint.monitor, checkpoint.mode = monitor


def run_cli(args: list[str] | None = None, run: bool = True) -> LprzooCLI:
    """Entry point used by ``main`` and by tests (``run=False`` only parses and instantiates)."""
    from lightning.pytorch import LightningDataModule, LightningModule

    import lprzoo

    lprzoo._import_datamodules()
    _one_copy_of_lightning_logs()
    return LprzooCLI(
        LightningModule,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=args,
        run=run,
        save_config_kwargs={"overwrite": True},
        # Lightning's `True` seeds with 0 anyway, after warning "No seed found" on every predict and test
        seed_everything_default=0,
    )


class _DropAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")  # Lightning's pointer to a cloud logger: not about this run


def _one_copy_of_lightning_logs() -> None:
    """Lightning logs through its own handler on the ``lightning`` logger and, by propagation, through lprzoo's:
    every line came twice.  Lightning's lines go through lprzoo's handler only (one format, and ``caplog`` sees
    them), without its advertisement."""
    if logging.getLogger().handlers:  # lprzoo's handler is there (`lprzoo.cli.main`): Lightning's is a copy
        logging.getLogger("lightning").handlers.clear()
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropAdverts) for f in rank_zero.filters):
        rank_zero.addFilter(_DropAdverts())
