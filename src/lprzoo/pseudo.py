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
from pathlib import Path

from lprzoo.data.sources import IMAGE_EXTENSIONS
from lprzoo.errors import LprzooError, MissingInputError

log = logging.getLogger(__name__)


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
    folder = Path(images).expanduser()
    if not folder.is_dir():
        raise MissingInputError(f"pseudo-label: no image folder at {folder}")
    files = sorted(p.resolve() for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise MissingInputError(f"pseudo-label: {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    reader = load(model, beam_width=beam_width, top_n=3, batch_size=batch_size)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    kept: list[tuple[str, str]] = []
    reasons: Counter[str] = Counter()
    rows = []
    with Progress(transient=True) as progress:
        task = progress.add_task("pseudo-labelling", total=len(files))
        for reading in reader.read_batches(files):
            progress.advance(task)
            if not reading.valid:
                why = "not a plate"
            elif reading.confidence < min_confidence:
                why = "low confidence"
            else:
                why = "kept"
                kept.append((reading.source, reading.text))
            reasons[why] += 1
            rows.append({**reading.to_dict(), "decision": why})
    labels = target / "labels.tsv"
    tmp = labels.with_name(".labels.tsv.tmp")
    tmp.write_text("".join(f"{path}\t{text}\n" for path, text in kept), encoding="utf-8")
    os.replace(tmp, labels)
    with (target / "pseudo.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    log.info(
        "pseudo-labels: kept %d of %d (%s) -> %s",
        len(kept), len(files), ", ".join(f"{n} {k}" for k, n in reasons.most_common()), labels,
    )  # fmt: skip
    return labels
