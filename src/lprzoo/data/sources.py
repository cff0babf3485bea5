"""Where labelled plate crops come from: file names, labels files and CCPD scenes.

Each reader turns a path into :class:`Sample` records (image path, label, optional plate corners) and checks them
without decoding pixels.  Problems raise :class:`InvalidSampleError` naming the file, or, with
``skip_invalid=True``, are counted and logged by :class:`SkipLog`.
"""

from __future__ import annotations

import glob
import logging
import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lprzoo.charset import Charset
from lprzoo.errors import InvalidSampleError, MissingInputError
from lprzoo.folders import (  # the one labelled-folder reader's parts, at the bottom of the house
    IMAGE_EXTENSIONS,
    is_image_file,
    label_from_filename,
    list_images,
    printable,
    read_labels_file,
)

log = logging.getLogger(__name__)

SourceFormat = Literal["auto", "filename", "labels", "ccpd"]


@dataclass(frozen=True)
class Sample:
    path: str
    label: str = ""
    corners: tuple[tuple[float, float], ...] | None = None  # CCPD: TL, TR, BR, BL in pixels


class SkipLog:
    """Counts skipped samples per reason and logs one summary line (``skip_invalid: true``).

    :meth:`child` gives one log per split whose skips also count in this one, so each split reports its own.
    """

    def __init__(self, skip_invalid: bool, parent: SkipLog | None = None) -> None:
        self.skip_invalid = skip_invalid
        self.parent = parent
        self.reasons: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def child(self) -> SkipLog:
        return SkipLog(self.skip_invalid, parent=self)

    def handle(self, error: InvalidSampleError) -> None:
        if not self.skip_invalid:
            raise error
        key = error.reason.split(":")[0]
        self.reasons[key] += 1
        self.examples.setdefault(key, error.path)
        if self.parent is not None:
            self.parent.handle(error)

    @property
    def count(self) -> int:
        return sum(self.reasons.values())

    def report(self, where: str) -> None:
        if self.count:
            detail = "; ".join(f"{n} × {r} (e.g. {self.examples[r]})" for r, n in self.reasons.items())
            log.warning("skipped %d invalid samples in %s: %s", self.count, where, detail)


# ---- CCPD ---------------------------------------------------------------------------------------------------
# The index tables of the CCPD annotation (Xu et al., ECCV 2018; github.com/detectRecog/CCPD).
CCPD_PROVINCES = "皖沪津渝冀晋蒙辽吉黑苏浙京闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新警学O"
CCPD_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZO"
CCPD_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789O"


def parse_ccpd_name(path: str | Path) -> Sample:
    """Decode a CCPD file name: ``area-tilt-bbox-corners-indices-brightness-blur.jpg``.

    Corners are given from the bottom-right vertex clockwise; they are returned as TL, TR, BR, BL.
    """
    parts = Path(path).stem.split("-")
    try:
        if len(parts) != 7:
            raise ValueError(f"{len(parts)} '-'-separated fields, expected 7")
        corners = [tuple(float(v) for v in xy.split("&")) for xy in parts[3].split("_")]
        if len(corners) != 4 or any(len(c) != 2 for c in corners):
            raise ValueError("field 4 must hold four x&y corners")
        if not all(math.isfinite(v) and v >= 0 for c in corners for v in c):
            raise ValueError(f"field 4 has a corner that is negative, NaN or infinite ({parts[3]})")
        idx = [int(v) for v in parts[4].split("_")]
        if len(idx) not in (7, 8):
            raise ValueError(f"field 5 has {len(idx)} character indices, expected 7 or 8")
        tables = [("province", CCPD_PROVINCES), ("letter", CCPD_LETTERS)] + [("character", CCPD_ALNUM)] * 6
        for k, (i, (what, table)) in enumerate(zip(idx, tables), 1):
            if not 0 <= i < len(table):
                raise ValueError(f"field 5 index {k} ({what}) is {i}, out of range 0-{len(table) - 1}")
        label = CCPD_PROVINCES[idx[0]] + CCPD_LETTERS[idx[1]] + "".join(CCPD_ALNUM[i] for i in idx[2:])
    except (ValueError, IndexError) as e:
        raise InvalidSampleError(path, f"not a CCPD file name: {e}") from None
    br, bl, tl, tr = corners
    return Sample(str(path), label, (tl, tr, br, bl))


# ---- one entry point ----------------------------------------------------------------------------------------
def _resolve_format(path: Path, fmt: SourceFormat) -> tuple[SourceFormat, Path]:
    if fmt != "auto":
        return fmt, path
    if is_image_file(path):  # one image: its name is its label (or a CCPD name)
        return ("ccpd" if len(path.stem.split("-")) == 7 else "filename"), path
    if path.is_file():
        return "labels", path
    for name in ("labels.tsv", "labels.csv", "labels.txt"):
        if (path / name).is_file():
            return "labels", path / name
    images = list_images(path)
    if images and all(len(p.stem.split("-")) == 7 for p in images[:5]):
        return "ccpd", path
    return "filename", path


def read_source(
    path: str | Path,
    charset: Charset,
    fmt: SourceFormat = "auto",
    skips: SkipLog | None = None,
    labelled: bool = True,
    plates: bool = True,
) -> list[Sample]:
    """Index one source (a folder, a labels file, an image or a glob pattern) into checked samples.

    Args:
        path: a folder of crops, a folder of CCPD scenes, a labels file, one image, or a glob pattern such as
            ``dir/*.jpg`` (each match is read as a source of its own).
        fmt: ``auto`` picks a labels file inside a folder if present, CCPD by file-name shape, else file names.
        labelled: check labels against the charset (``False`` for ``predict``, where labels are optional).
        plates: check labels against the plate grammar (:func:`lprzoo.render.rules.plate_spec_of`): 7 characters,
            or 8 for green plates; off for plate kinds that have no registered spec.
    """
    skips = skips or SkipLog(False)
    path = Path(path).expanduser()
    if not path.exists() and glob.has_magic(str(path)):
        matches = sorted(glob.glob(str(path)))
        if not matches:
            raise MissingInputError(f"{path}: no file matches this pattern")
        return [s for m in matches for s in read_source(m, charset, fmt, skips, labelled, plates)]
    if not path.exists():
        raise FileNotFoundError(f"data source {path} does not exist")
    fmt, path = _resolve_format(path, fmt)
    samples: list[Sample] = []
    if fmt == "labels":
        if not path.is_file():
            raise FileNotFoundError(f"labels file {path} does not exist")
        rows = read_labels_file(path)
        for rel, label in rows:
            file = Path(rel) if Path(rel).is_absolute() else path.parent / rel
            samples.append(Sample(str(file), label))
        listed = {os.path.normpath(s.path) for s in samples}
        unlisted = [p.name for p in list_images(path.parent) if os.path.normpath(str(p)) not in listed]
        if unlisted:  # a labels file older than its folder: say what it leaves out
            more = ", ..." if len(unlisted) > 3 else ""
            log.warning("%s: %d image(s) beside it are not listed, so not used (%s%s); is the labels file stale?",
                        printable(path), len(unlisted), ", ".join(unlisted[:3]), more)  # fmt: skip
    else:
        if not path.is_dir() and not is_image_file(path):
            raise NotADirectoryError(f"{path} is neither a folder nor an image (format {fmt!r})")
        for file in list_images(path):
            if fmt == "ccpd":
                try:
                    samples.append(parse_ccpd_name(file))
                except InvalidSampleError as e:
                    skips.handle(e)
            else:
                samples.append(Sample(str(file), label_from_filename(file)))
    if not samples and not skips.count:
        raise InvalidSampleError(path, f"no images found ({fmt} format; extensions {', '.join(IMAGE_EXTENSIONS)})")
    return list(_checked(samples, charset, skips, labelled, plates))


def _not_a_plate(label: str) -> str | None:
    """Why ``label`` fits no registered plate spec, or ``None`` when it fits one."""
    from lprzoo.render.rules import plate_spec_of  # lazily: lprzoo.render pulls in OpenCV

    if plate_spec_of(label) is not None:
        return None
    return f"not a plate: label {label!r} fits no plate spec (7 characters, or 8 for green plates)"


def _checked(
    samples: Iterable[Sample], charset: Charset, skips: SkipLog, labelled: bool, plates: bool = True
) -> Iterable[Sample]:
    for s in samples:
        try:
            if not Path(s.path).is_file():
                raise InvalidSampleError(s.path, "missing file: listed in the labels file but not on disk")
            if Path(s.path).stat().st_size == 0:
                raise InvalidSampleError(s.path, "empty file: 0 bytes")
            if labelled:
                if not s.label:
                    raise InvalidSampleError(s.path, "empty label")
                bad = charset.unknown(s.label)
                if bad:
                    raise InvalidSampleError(
                        s.path, f"label outside the charset: {s.label!r} has {bad!r} (add them to extra_chars?)"
                    )
                why = _not_a_plate(s.label) if plates else None
                if why:
                    raise InvalidSampleError(s.path, why)
            elif charset.unknown(s.label):
                s = Sample(s.path, "", s.corners)  # predict: a file name that is not a label
            yield s
        except InvalidSampleError as e:
            skips.handle(e)
