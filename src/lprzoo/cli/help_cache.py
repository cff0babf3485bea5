"""The help of the verbs whose options only Lightning can list, kept once it was built.

``lprzoo fit --help`` (and ``validate``, ``test``, ``predict``, ``translate``) needs Lightning's classes to list its
options, and importing Lightning takes seconds.  The text depends only on the installed code and the terminal's
width, so the first call builds it and keeps it under ``<cache>/help/``; a later call with the same code prints it
without importing torch.  The key holds lprzoo's version, the versions of Lightning, jsonargparse and torch, the
size and modification time of every module of lprzoo, and the width: any change builds it anew.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import lprzoo
from lprzoo.folders import atomic_write_text
from lprzoo.hub import cache_dir

SLOW_HELP = ("fit", "validate", "test", "predict", "translate")  # verbs whose --help imports Lightning
_DISTRIBUTIONS = ("lightning", "jsonargparse", "torch")


def asks_help_only(args: list[str]) -> bool:
    """``VERB --help`` and nothing else, for a verb in :data:`SLOW_HELP` (with a ``--config`` the help may differ)."""
    return len(args) == 2 and args[0] in SLOW_HELP and args[1] in ("-h", "--help")


def help_key(verb: str) -> str:
    """What the help of ``verb`` depends on, hashed: the code's versions and files and the terminal's width."""
    digest = hashlib.sha256(f"{verb}\n{lprzoo.__version__}\n{shutil.get_terminal_size().columns}\n".encode())
    for name in _DISTRIBUTIONS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{name}={metadata.version(name)}\n".encode())
    package = Path(lprzoo.__file__).parent
    for module in sorted(package.rglob("*.py")):
        stat = module.stat()
        digest.update(f"{module.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def print_help(verb: str, build: Callable[[], object]) -> int:
    """Print the help of ``verb``: the kept text, or ``build()``'s (which prints it and exits 0), then kept."""
    path = cache_dir() / "help" / f"{verb}-{help_key(verb)}.txt"
    if path.is_file():
        sys.stdout.write(path.read_text(encoding="utf-8"))
        return 0
    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            build()
    except SystemExit as exit_:  # argparse exits after printing the help
        if exit_.code not in (0, None):
            sys.stdout.write(text.getvalue())
            raise
    sys.stdout.write(text.getvalue())
    if text.getvalue().strip():
        with contextlib.suppress(OSError):  # a read-only cache only costs the next call its speed
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text.getvalue())
    return 0
