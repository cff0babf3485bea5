"""Labelled image folders: one place for their names, reading them (image files, labels from file names and from
labels files, which :func:`lprzoo.data.sources.read_source` builds on) and writing them resumably (atomic writes,
``labels.tsv`` and manifest).

Shared by ``lprzoo render`` (:mod:`lprzoo.render.dataset`), ``lprzoo translate`` (:mod:`lprzoo.refine.translate`) and
``lprzoo pseudo-label``.  A folder holds ``NNNNNNN_<label>.<jpg|png>`` images, where image ``i`` depends only on the
run's settings and ``i``; a manifest (``render.json`` / ``translate.json``) records those settings so that a
resumed run with other settings is refused; ``labels.tsv`` (``filename<TAB>label``) is written last, from the files,
so a folder with ``labels.tsv`` is complete.  Every write is atomic: a hidden temporary file (its name carries the
process id, so DDP ranks never share one) renamed into place, so an interruption leaves no half-written file.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lprzoo.errors import InvalidSampleError, LprzooError

log = logging.getLogger(__name__)

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


# ---- reading: image files, labels from file names and labels files (TSV / CSV) ---------------------------------
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


# ---- file names ---------------------------------------------------------------------------------------------
_PREFIX = re.compile(r"^\d+[_-]")


def label_from_filename(path: str | Path) -> str:
    """``京A12345.jpg`` or ``00012_京A12345.jpg`` -> ``京A12345``."""
    return _PREFIX.sub("", Path(path).stem)


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()


UNREAD_IMAGE_EXTENSIONS = (".gif", ".heic", ".heif", ".avif", ".jp2", ".ppm", ".pgm", ".ico")


def list_images(folder: Path) -> list[Path]:
    """The images in a folder, or the one image a path names.  Files that look like images but are not read (GIF,
    HEIC, ...) are named in a warning, as are broken symbolic links, instead of being passed over in silence."""
    if is_image_file(folder):
        return [folder]
    entries = sorted(folder.iterdir())
    unread = [p.name for p in entries if p.suffix.lower() in UNREAD_IMAGE_EXTENSIONS]
    if unread:
        log.warning("%s: %d file(s) in a format lprzoo does not read, ignored (%s%s); convert them to %s",
                    printable(folder), len(unread), ", ".join(unread[:3]), ", ..." if len(unread) > 3 else "",
                    "/".join(IMAGE_EXTENSIONS[:3]))  # fmt: skip
    broken = [p.name for p in entries if p.is_symlink() and not p.exists()]
    if broken:
        log.warning("%s: %d broken symbolic link(s), ignored (%s%s)", printable(folder), len(broken),
                    ", ".join(broken[:3]), ", ..." if len(broken) > 3 else "")  # fmt: skip
    return [p for p in entries if is_image_file(p)]


def printable(path: str | Path) -> str:
    """A file name as text that any UTF-8 output can hold: undecodable bytes become ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


# ---- labels files (TSV / CSV, incl. fast-plate-ocr's image_path,plate_text) ---------------------------------
_HEADER_NAMES = {"filename", "file", "image", "image_path", "path", "label", "plate_text", "text", "plate"}


def _decode_labels(path: Path) -> str:
    """UTF-8 (with or without BOM), else GB18030; otherwise an error naming the first row neither decodes."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    for row, line in enumerate(data.splitlines(), 1):
        try:
            line.decode("utf-8-sig" if row == 1 else "utf-8")
            continue
        except UnicodeDecodeError:
            pass
        try:
            line.decode("gb18030")
        except UnicodeDecodeError as e:
            raise InvalidSampleError(
                path, f"row {row} is neither UTF-8 nor GB18030 text (byte {line[e.start]:#04x} at column {e.start + 1})"
            ) from None
    raise InvalidSampleError(path, "mixes UTF-8 and GB18030 rows; save it in one encoding (UTF-8)")


def read_labels_file(path: Path) -> list[tuple[str, str]]:
    """Rows ``(image path relative to the file's folder or absolute, label)``; a header row is detected.

    The file may be UTF-8 (with or without BOM) or GB18030, common for Chinese labels.
    """
    text = _decode_labels(path)
    first = text.splitlines()[0] if text else ""
    delimiter = "\t" if "\t" in first else ","
    lines = text.splitlines(keepends=True)  # kept ends: a quote left open shows as a field holding a line break
    rows = [r for r in csv.reader(lines, delimiter=delimiter) if r and any(c.strip() for c in r)]
    if rows and rows[0][0].strip().lower() in _HEADER_NAMES:
        header = [c.strip().lower() for c in rows[0]]
        rows = rows[1:]
        file_col = next(
            (header.index(c) for c in ("image_path", "filename", "file", "path", "image") if c in header), 0
        )
        label_col = next((header.index(c) for c in ("plate_text", "label", "text", "plate") if c in header), 1)
    else:
        file_col, label_col = 0, 1
    out: list[tuple[str, str]] = []
    first_row: dict[str, tuple[int, str]] = {}
    for i, row in enumerate(rows):
        if any("\n" in cell for cell in row):  # csv joined lines into one field: a quote opened and never closed
            raise InvalidSampleError(
                path, f"row {i + 1} opens a quote (\") that is not closed on its line; it would swallow the rows "
                f"after it ({row[0].splitlines()[0][:40]!r}...)"
            )  # fmt: skip
        if len(row) <= max(file_col, label_col):
            raise InvalidSampleError(path, f"row {i + 1} has {len(row)} columns, expected filename and label")
        name, label = row[file_col].strip(), row[label_col].strip()
        if name in first_row:
            row_before, label_before = first_row[name]
            if label_before != label:
                raise InvalidSampleError(
                    path, f"{name} is listed twice with different labels ({label_before!r} in row {row_before}, "
                    f"{label!r} in row {i + 1}); keep the right one"
                )  # fmt: skip
            log.warning("%s: %s is listed twice (rows %d and %d, same label); read once", path, name, row_before, i + 1)
            continue
        first_row[name] = (i + 1, label)
        out.append((name, label))
    return out


def read_labelled(path: str | Path) -> list[tuple[Path, str]]:
    """``(image, label)`` pairs of a labelled source: a labels file, a folder with ``labels.tsv``, or a folder of
    ``NNN_<label>.jpg`` images, without checking the images or the labels (:func:`lprzoo.data.sources.read_source`
    checks both, and reads CCPD scenes too)."""
    path = Path(path).expanduser()
    if path.is_dir() and (path / "labels.tsv").is_file():
        path = path / "labels.tsv"
    if path.is_file() and not is_image_file(path):
        return [((path.parent / name) if not Path(name).is_absolute() else Path(name), label)
                for name, label in read_labels_file(path)]  # fmt: skip
    if not path.exists():
        raise FileNotFoundError(f"data source {path} does not exist")
    return [(image, label_from_filename(image)) for image in list_images(path)]
