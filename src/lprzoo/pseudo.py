"""Self-training's first half (beyond the paper): label unlabelled crops with a model, keep the confident ones.

``lprzoo pseudo-label --model M --images ../shared/data/target/unlabelled --out runs/adapt/pseudo1`` reads every
crop with beam search, keeps a reading only when its top-1 fits a plate grammar (:func:`~lprzoo.render.rules.
plate_spec_of`) and its probability is at least ``min_confidence``, and writes ``labels.tsv`` (absolute image paths,
so the images are read in place) plus ``pseudo.jsonl`` with every reading and why it was kept or dropped.  The
folder is then a labelled source for :class:`~lprzoo.data.blend.BlendedDataModule` (``pseudo: <out>``).

No label of the target set is used: thresholds are fixed in advance, not tuned on labelled target data.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from lprzoo.errors import InvalidSampleError, LprzooError, MissingInputError
from lprzoo.folders import IMAGE_EXTENSIONS, list_images, write_labels_file

log = logging.getLogger(__name__)


def pool_images(images: str | Path, verb: str = "pseudo-label") -> list[Path]:
    """The image files of an unlabelled pool, sorted, or a one-line error naming the folder."""
    folder = Path(images).expanduser()
    if not folder.exists():
        raise MissingInputError(f"{verb}: no image folder at {folder}")
    if not folder.is_dir():
        raise MissingInputError(f"{verb}: {folder} is not a folder of images")
    files = [p.resolve() for p in list_images(folder)]
    if not files:
        what = "is empty" if not any(folder.iterdir()) else f"holds no images ({', '.join(IMAGE_EXTENSIONS)})"
        raise MissingInputError(f"{verb}: {folder} {what}")
    return files


def decide(reading, min_confidence: float) -> str:
    """Why a reading is kept or dropped: ``kept``, ``not a plate`` (fails every grammar) or ``low confidence``."""
    if not reading.valid:
        return "not a plate"
    return "low confidence" if reading.confidence < min_confidence else "kept"


def label_pool(
    reader, files: Sequence[Path], min_confidence: float, on_reading: Callable[[], None] | None = None
) -> list[dict]:
    """Every crop's reading as a row (``to_dict`` plus ``decision``); ``on_reading`` is called once per crop.

    A file of the pool that is not a readable image (a truncated upload, a stray document) is dropped as a crop that
    is no plate is, with the decision ``not an image``: one such file does not end a pool of thousands."""
    from lprzoo.reader import PlateReading

    rows = []
    skipped: list[InvalidSampleError] = []
    for reading in reader.read_batches(files, skipped):
        rows.append({**reading.to_dict(), "decision": decide(reading, min_confidence)})
        if on_reading is not None:
            on_reading()
    for error in skipped:
        rows.append({**PlateReading("", 0.0, source=error.path).to_dict(), "decision": "not an image"})
        if on_reading is not None:
            on_reading()
    return rows


def write_pseudo_labels(rows: Sequence[dict], out: str | Path) -> Path:
    """``labels.tsv`` of the kept rows (absolute paths, read in place) and ``pseudo.jsonl`` of all, atomically."""
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    jsonl = target / "pseudo.jsonl"
    tmp_jsonl = jsonl.with_name(".pseudo.jsonl.tmp")
    with tmp_jsonl.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp_jsonl, jsonl)
    kept = [(r["source"], r["text"]) for r in rows if r["decision"] == "kept"]
    return write_labels_file(target / "labels.tsv", kept)  # last: a folder with labels.tsv is complete


def pseudo_label(
    model: str | None = None,
    images: str = "../shared/data/target/unlabelled",
    out: str = "runs/pseudo",
    min_confidence: float = 0.9,
    beam_width: int = 10,
    batch_size: int = 64,
) -> Path:
    """Pseudo-label a folder of unlabelled plate crops.

    Args:
        model: a zoo name or weights file (``.ckpt`` / ``.safetensors``).
        images: a folder of unlabelled crops.
        out: output folder for ``labels.tsv`` and ``pseudo.jsonl``.
        min_confidence: keep a reading whose beam probability is at least this.
        beam_width: prefix beam width.
        batch_size: crops per forward pass.

    Returns:
        the written ``labels.tsv``.
    """
    from rich.progress import Progress

    from lprzoo.reader import load

    if not model:
        raise LprzooError("pseudo-label: give --model (a zoo name, .ckpt or .safetensors)")
    if not 0 < min_confidence <= 1 or beam_width < 1 or batch_size < 1:
        raise LprzooError(
            f"pseudo-label: --min_confidence must lie in (0, 1] and --beam_width, --batch_size be at least 1 "
            f"(got {min_confidence}, {beam_width}, {batch_size})"
        )
    files = pool_images(images)
    # the unconstrained beam: its top reading is kept only if it is a plate by itself (a beam forced into the
    # grammar would turn unreadable crops into confident-looking plates)
    reader = load(model, beam_width=beam_width, top_n=3, batch_size=batch_size, grammar=False)
    with Progress(transient=True) as progress:
        task = progress.add_task("pseudo-labelling", total=len(files))
        rows = label_pool(reader, files, min_confidence, lambda: progress.advance(task))
    labels = write_pseudo_labels(rows, out)
    reasons = Counter(r["decision"] for r in rows)
    log.info(
        "pseudo-labels: kept %d of %d (%s) -> %s",
        reasons["kept"], len(files), ", ".join(f"{n} {k}" for k, n in reasons.most_common()), labels,
    )  # fmt: skip
    return labels
