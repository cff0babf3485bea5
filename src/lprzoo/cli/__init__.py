"""``lprzoo``: the command line.  ``lprzoo --help`` lists the verbs; each verb imports only what it needs.

``fit | validate | test | predict`` run :class:`~lprzoo.cli.trainer.LprzooCLI` (Lightning); the pipeline's other
verbs (``render``, ``translate``, ``pseudo-label``, ``adapt``, ``zoo``, ...) are plain functions whose typed arguments
``jsonargparse`` turns into options.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import warnings
from typing import Any

from lprzoo.errors import CheckpointError, InvalidSampleError, LprzooError

log = logging.getLogger("lprzoo")

# verb -> (one line of help, what runs it): None for the LightningCLI verbs; a function; or "module:name" of a
# function (or a dict of sub-verb functions), imported only when that verb runs, so start-up stays light
VERBS = {
    "fit": ("train a model from a recipe: lprzoo fit --config recipes/real_baseline.yaml", None),
    "validate": ("validation metrics of a checkpoint or zoo entry on the recipe's val set", None),
    "test": ("RA, CRA, CRA-C/NC, top-N on a labelled set: lprzoo test --model NAME --data.test DIR", None),
    "predict": ("read plates to CSV/JSONL: lprzoo predict --model NAME --data.predict DIR", None),
    "render": ("render labelled synthetic plates to a folder (resumable)", "lprzoo.render.verb:render"),
    "translate": (
        "refine rendered plates with a CycleGAN generator into a labelled folder (resumable)",
        "lprzoo.refine.translate:translate",
    ),
    "adapt": (
        "a folder of unlabelled crops from a new camera -> a reader for it: lprzoo adapt --images DIR --out DIR",
        "lprzoo.adapt:adapt",
    ),
    "pseudo-label": (
        "label unlabelled crops with a model: beam top-1, plate grammar, confidence threshold",
        "lprzoo.pseudo:pseudo_label",
    ),
    "calibrate": (
        "fit a reader's confidence on held-out labelled crops; store it and a reject threshold in its record",
        "lprzoo.calibrate:calibrate",
    ),
    "explain": (
        "confidence maps (paper Fig. 2, 11) and top-N readings of images: lprzoo explain IMAGES --out DIR",
        "lprzoo.explain:explain",
    ),
    "zoo": ("list the trained models lprzoo.load() reads, with metrics, size and speed", "lprzoo.zoo_table:zoo"),
    "average": (
        "average the weights of models fine-tuned from one start (a model soup): lprzoo average --models A,B --out F",
        "lprzoo.weights:average",
    ),
    "publish": ("turn a trained checkpoint into a zoo entry: weights + measured record", "lprzoo.publish:publish"),
    "publish-generator": (
        "turn a CycleGAN checkpoint into a zoo generator: G's weights + label retention, FD, colour kept",
        "lprzoo.publish:publish_generator",
    ),
    "export": ("export a model to ONNX (fp32 or int8), checked with ONNX Runtime", "lprzoo.export:export"),
    "benchmark": (
        "accuracy x speed x size of zoo entries per runtime, batch and threads; Pareto plot",
        "lprzoo.benchmark:benchmark",
    ),
    "data": (
        "dataset tools: data stats DIR, data validate DIR, data augment-preview (tables and PNGs)",
        "lprzoo.datatools:COMMANDS",
    ),
}
COMMANDS = {verb: fn for verb, (_, fn) in VERBS.items() if fn is not None}


def print_help() -> None:
    width = max(map(len, VERBS))
    print("usage: lprzoo VERB [--help] [options]\n")
    print("License-plate recognition where labelled real photos are scarce: render -> refine -> recognise.\n")
    print("verbs:")
    for verb, (line, _) in VERBS.items():
        print(f"  {verb:<{width}}  {line}")
    print("\n`lprzoo VERB --help` shows every option of a verb; README.md has the quickstart.")


def _resolve_model_args(args: list[str]) -> list[str]:
    """``--model NAME`` / ``--ckpt_path NAME`` with a zoo entry or a weights file -> the model's own arguments.

    A zoo name or a ``.safetensors`` file becomes ``--model.init_args.init_from`` plus its architecture, kind head
    and charset (read from its record); a ``.ckpt`` is checked readable without unpickling before Lightning sees it;
    a URL is refused unless it is a zoo record's (``lprzoo.hub``): Lightning would unpickle whatever it downloads.
    """
    from lprzoo.hub import resolve

    out: list[str] = []
    tail: list[str] = []  # after every other argument, so a later --data class does not reset it
    i = 0
    while i < len(args):
        arg = args[i]
        key, _, value = arg.partition("=")
        if key in ("--model", "--ckpt_path") and (value or i + 1 < len(args)):
            if not value:
                value = args[i + 1]
                i += 1
            if key == "--model" and (value.startswith(("{", "lprzoo.")) or value.endswith("Module")):
                out += [key, value]  # a class path: LightningCLI's own --model
            elif key == "--ckpt_path" and value in ("last", "best", "hpc"):
                out += [key, value]
            elif value.startswith(("http://", "https://")) and "#sha256=" not in value:
                raise CheckpointError(
                    value,
                    "remote checkpoints are refused (Lightning would unpickle them); use a zoo name or "
                    "`URL#sha256=<hex>` of a .safetensors file",
                )
            else:
                from lprzoo.weights import read_weights, recognizer_state

                path, _ = resolve(value)
                loaded = read_weights(path)  # weights_only: a file that is not a checkpoint is a one-line error
                if key == "--ckpt_path" and path.suffix == ".ckpt":
                    out += [key, str(path)]
                else:
                    from lprzoo.recognize.crnn import arch_argument

                    _, record = recognizer_state(loaded)
                    out += [
                        "--model", "lprzoo.CRNNModule",
                        "--model.init_args.arch", arch_argument(record.arch, record.arch_kwargs),
                        "--model.init_args.init_from", value,
                        "--model.init_args.kind_head", str(record.kind_head).lower(),
                    ]  # fmt: skip
                    tail += ["--data.init_args.extra_chars", record.extra_chars]  # linked to the model's
        else:
            out.append(arg)
        i += 1
    return out + tail


def _wrapped_user_error(error: BaseException) -> LprzooError | None:
    """The :class:`LprzooError` inside ``error``'s chain of causes, if any (e.g. ``--data.batch_size 0``, raised by
    the data module while jsonargparse instantiated it and re-raised as "does not validate")."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, LprzooError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:  # `lprzoo zoo | head`: the reader stopped reading; nothing went wrong here
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit finds no pipe
        return 0


def _main(args: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # a known false alarm: Lightning's pytree helper calls a torch API that torch 2.14 deprecates; nothing to act on
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    if not args or args[0] in ("-h", "--help", "help"):
        print_help()
        return 0
    try:
        if args[-1] in ("-h", "--help"):  # `lprzoo fit --help`: kept once built, so it needs no Lightning import
            from lprzoo.cli import help_cache

            if help_cache.asks_help_only(args):
                return help_cache.print_help(args[0], lambda: _run_verb(args))
        _run_verb(args)
    except LprzooError as e:
        message = str(e).strip()
        if "Traceback (most recent call last)" in message:  # re-raised from a loader worker: keep its last line
            message = message.splitlines()[-1].split("Error: ", 1)[-1]
        if isinstance(e, InvalidSampleError) and args[0] not in COMMANDS:  # a Lightning verb: its data module skips
            message += " (--data.skip_invalid true skips and counts such files)"
        log.error("%s", message.replace("\n", "\\n"))  # one line, even for a file name holding a newline
        return 2
    except (FileNotFoundError, NotADirectoryError, FileExistsError) as e:  # each names its path
        log.error("%s", e)
        return 2
    except OSError as e:  # a full disk, a read-only or forbidden folder: the user's to fix, named in one line
        if e.errno not in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT):
            raise
        where = f"{e.filename}: " if e.filename else ""
        log.error("%s%s (nothing half-written is left in place: outputs are renamed in only when whole)", where,
                  e.strerror or e)  # fmt: skip
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the verb said what it kept and how to resume; no traceback
        log.error("interrupted")
        return 130
    return 0


def _run_verb(args: list[str]) -> None:
    """Run ``lprzoo VERB ...``: a plain function's verb through jsonargparse, the others through LightningCLI."""
    if args[0] in COMMANDS:
        from jsonargparse import auto_cli

        fn = COMMANDS[args[0]]
        if isinstance(fn, str):  # "module:name": the real function, so --help shows its documented arguments
            import importlib

            module, name = fn.split(":")
            fn = getattr(importlib.import_module(module), name)
        auto_cli(fn, args=args[1:], prog=f"lprzoo {args[0]}")
    else:
        from lightning.fabric.utilities.exceptions import MisconfigurationException

        from lprzoo.cli.trainer import run_cli

        try:
            run_cli([args[0], *_resolve_model_args(args[1:])])
        except MisconfigurationException as e:  # Lightning's own check of a setting (e.g. max_steps -5)
            raise LprzooError(str(e)) from None
        except (ValueError, TypeError) as e:  # jsonargparse wraps what a class raised while it was built
            cause = _wrapped_user_error(e)
            if cause is None:
                raise
            raise cause from None


def __getattr__(name: str) -> Any:  # PEP 562: the Lightning side, for code that imported it from here
    if name in ("LprzooCLI", "run_cli", "DEFAULT_ROOT"):
        from lprzoo.cli import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
