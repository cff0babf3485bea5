"""Resumable labelled image folders: one place for their names, atomic writes, ``labels.tsv`` and manifest.

Shared by ``lprzoo render`` (:mod:`lprzoo.render.dataset`), ``lprzoo translate`` (:mod:`lprzoo.refine.translate`) and
``lprzoo pseudo-label``.  A folder holds ``NNNNNNN_<label>.<jpg|png>`` images, where image ``i`` depends only on the
run's settings and ``i``; a manifest (``render.json`` / ``translate.json``) records those settings so that a
resumed run with other settings is refused; ``labels.tsv`` (``filename<TAB>label``) is written last, from the files,
so a folder with ``labels.tsv`` is complete.  Every write is atomic: a hidden temporary file (its name carries the
process id, so DDP ranks never share one) renamed into place, so an interruption leaves no half-written file.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lprzoo.errors import InvalidSampleError, LprzooError

IMAGE_NAME = re.compile(r"^(\d{7})_(.+)\.(jpg|png)$")
TMP_PREFIX = ".tmp-"


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def atomic_write_bytes(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` (any bytes-like object, e.g. an encoded numpy buffer) to ``path`` through a temporary file in
    the same folder and ``os.replace``. Plain ``os`` calls: a folder of small images is written at thousands of
    files a second, where ``pathlib`` and buffered file objects cost more than the write itself."""
    path = os.fspath(path)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{name}")
    fd = os.open(tmp, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def exclusive(path: Path, busy: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) against other threads and processes: a thread lock
    per path, then ``flock`` (POSIX; elsewhere only the thread lock).  The lock dies with its holder, so a killed
    process never leaves it held.

    Args:
        busy: wait for the lock when ``None``; else do not wait: raise :class:`LprzooError` with this message
            when another writer holds it (two writers on one output).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())
    if not thread_lock.acquire(blocking=busy is None):
        raise LprzooError(busy)
    try:
        with open(path, "a+b") as handle:
            try:
                import fcntl
            except ImportError:  # Windows: threads are serialised, processes are not
                yield
                return
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (fcntl.LOCK_NB if busy is not None else 0))
            except BlockingIOError:
                raise LprzooError(busy) from None
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        thread_lock.release()


def image_name(index: int, label: str, fmt: str) -> str:
    """The file name of image ``index``: ``NNNNNNN_<label>.<fmt>``."""
    return f"{index:07d}_{label}.{fmt}"


def existing_images(out: Path, n: int) -> dict[int, str]:
    """Index -> file name of the finished images; removes temporary files left behind by an interrupted run.

    Raises:
        InvalidSampleError: an index that appears twice, or one beyond ``n``.
    """
    done: dict[int, str] = {}
    for p in out.iterdir():
        if p.name.startswith(TMP_PREFIX):
            p.unlink(missing_ok=True)  # another DDP rank may be scanning too
        elif m := IMAGE_NAME.match(p.name):
            i = int(m[1])
            if i in done:
                raise InvalidSampleError(p, f"index {i} appears twice ({done[i]}, {p.name})")
            if i >= n:
                raise InvalidSampleError(p, f"index {i} >= n={n}; use a new folder or a larger n")
            done[i] = p.name
    return done


def write_labels(out: Path, done: dict[int, str]) -> Path:
    """(Re)write ``<out>/labels.tsv`` from the image files."""
    return write_labels_file(
        out / "labels.tsv", [(name, IMAGE_NAME.match(name)[2]) for _, name in sorted(done.items())]
    )


def write_labels_file(path: Path, rows: Iterable[tuple[str, str]]) -> Path:
    """The one labels-file writer: ``filename<TAB>label`` rows under that header, written atomically
    (:func:`lprzoo.data.sources.read_source` reads them back)."""
    atomic_write_text(path, "".join(f"{name}\t{label}\n" for name, label in [("filename", "label"), *rows]))
    return path


def check_manifest(path: Path, manifest: dict[str, Any], informative: tuple[str, ...] = ()) -> None:
    """Write ``manifest`` at ``path``, or refuse to resume a folder made with other settings.

    Args:
        informative: keys that may differ (e.g. where a checkpoint was read from).

    Raises:
        InvalidSampleError: the folder was made with other settings (the message names them), or it holds files
            and no manifest: a folder this command did not write.
    """
    manifest = json.loads(json.dumps(manifest, ensure_ascii=False))  # tuples -> lists, as when read back
    if not path.exists():
        foreign = sorted(p.name for p in path.parent.iterdir() if not p.name.startswith("."))
        if foreign:  # a dataset (or anything) lprzoo did not write here: never overwrite its labels.tsv or images
            raise InvalidSampleError(
                path.parent, f"holds files this command did not write ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}; no {path.name}); choose an empty or new folder"
            )  # fmt: skip
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        keys = (old.keys() | manifest.keys()) - set(informative)
        diff = sorted(k for k in keys if old.get(k) != manifest.get(k))
        if diff:
            raise InvalidSampleError(
                path, f"{path.parent} was made with other settings ({', '.join(diff)} differ); use a new folder"
            )
        return
    atomic_write_text(path, json.dumps(manifest, ensure_ascii=False, indent=1))
