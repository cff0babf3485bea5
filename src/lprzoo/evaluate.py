"""Evaluate a reader on named sets without Lightning: RA, CRA, CRA-C/NC, top-N, per colour and per province, and
the trust figures of its confidence (ECE, coverage at 99 % precision).

The numbers equal ``lprzoo test``'s (greedy best path for RA/CRA, beam search for top-N, §IV-B/C) when both run in
fp32.  Named sets (the zoo records' keys):

- ``real/val``: ``../shared/data/real/val`` (in-distribution cameras); ``../shared/data`` is relative to where lprzoo
  runs, as in the recipes, or ``$LPRZOO_DATA``;
- ``target/dev``: ``../shared/data/target/dev`` (another camera and region; evaluation only, never training);
- ``render-31``: 1,000 rendered plates, all 31 provinces uniform, 60 % blue / 35 % yellow / 5 % green, seed 31,
  drawn at the validation epoch (:data:`~lprzoo.render.plates.VAL_EPOCH`) so no training epoch ever shows them.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from lprzoo.batch import INPUT
from lprzoo.calibration import confidence_figures
from lprzoo.charset import PROVINCES
from lprzoo.decode import greedy_decode, prefix_beam_search
from lprzoo.metrics import PlateMetrics
from lprzoo.weights import RecognizerRecord

SHARED = Path(os.environ.get("LPRZOO_DATA", "../shared/data"))  # the companion data folder, as the recipes name it
NAMED_SETS = {"real/val": SHARED / "real" / "val", "target/dev": SHARED / "target" / "dev"}
RENDER31 = {"n": 1000, "seed": 31, "specs": {"blue": 0.6, "yellow": 0.35, "green": 0.05}}

HUE_RANGES = {"blue": (130, 185), "yellow": (20, 50)}  # PIL's HSV hue, 0-255 for 0-360 degrees


def plate_colour(image: Tensor) -> str:
    """``uint8 (3, H, W)`` -> ``blue``, ``yellow`` or ``other``: the hue of most saturated, bright pixels."""
    hsv = np.asarray(Image.fromarray(image.permute(1, 2, 0).numpy()).convert("HSV")).reshape(-1, 3).astype(int)
    hue = hsv[(hsv[:, 1] > 60) & (hsv[:, 2] > 50), 0]
    if len(hue) < 200:  # mostly grey or dark: no plate colour to speak of
        return "other"
    shares = {name: ((hue >= lo) & (hue <= hi)).mean() for name, (lo, hi) in HUE_RANGES.items()}
    name, share = max(shares.items(), key=lambda kv: kv[1])
    return name if share > 0.5 else "other"


def rendered(
    n: int, specs: dict[str, float], seed: int, size: tuple[int, int] = INPUT.size
) -> tuple[Tensor, list[str], list[str]]:
    """``n`` renders drawn at the validation epoch, which no training epoch reaches: ``uint8 (n, 3, H, W)`` at ``size``,
    their labels and the spec each was drawn from."""
    from lprzoo.render.plates import VAL_EPOCH, ScriptPlates

    plates = ScriptPlates(n, dict(specs), seed=seed, size=size)
    items = [plates[VAL_EPOCH * plates.length + i] for i in range(plates.length)]
    drawn = [origin.split(":")[1] for _, _, origin in items]  # an item's origin is "render:<spec>:<epoch>:<i>"
    return torch.stack([image for image, _, _ in items]), [text for _, text, _ in items], drawn


def render31(size: tuple[int, int] = INPUT.size) -> tuple[Tensor, list[str]]:
    """The fixed all-province rendered set: ``uint8 (1000, 3, H, W)`` and its labels."""
    images, labels, _ = rendered(**RENDER31, size=size)
    return images, labels


def labelled_images(source: str | Path, record: RecognizerRecord) -> tuple[Tensor, list[str]]:
    """A labelled folder or labels file -> ``uint8 (N, 3, H, W)`` and labels, decoded as training does, in the
    charset and at the input size of ``record`` (a reader's :class:`~lprzoo.weights.RecognizerRecord`)."""
    from lprzoo.data.real import PlateImages
    from lprzoo.data.sources import read_source

    images = PlateImages(read_source(source, record.charset), name=str(source), size=record.input.size)
    return images.images, [s.label for s in images.samples]


def load_named(name: str, record: RecognizerRecord) -> tuple[Tensor, list[str]]:
    """A named set (``real/val``, ``target/dev``, ``render-31``) or a labelled folder, as ``record``'s reader takes
    it."""
    if name == "render-31":
        return render31(record.input.size)
    return labelled_images(NAMED_SETS.get(name, name), record)


def evaluate(
    reader,
    images: Tensor,
    labels: Sequence[str],
    top_n: Sequence[int] = (3, 5),
    breakdown: bool = True,
    pictures: Path | None = None,
    title: str = "",
) -> dict[str, Any]:
    """Metrics of a :class:`~lprzoo.reader.PlateReader` on ``uint8 (N, 3, H, W)`` images and their labels.

    Returns RA, CRA, CRA-C, CRA-NC, top-N and ``plates``, the trust figures of the reader's own reading (beam top-1
    and its calibrated confidence: ECE, mean confidence, coverage at 99 % / 99.5 % precision,
    :func:`~lprzoo.calibration.confidence_figures`); with ``breakdown`` also RA ``by_colour`` and
    ``by_province`` (``{key: [correct, total]}``) and the greedy ``predictions``.  With ``pictures``, a folder, it
    also draws the set's reliability diagram and risk-coverage curve there (:func:`lprzoo.viz.confidence_report`,
    named after ``title``).
    """
    metrics = PlateMetrics(top_n)
    predictions: list[str] = []
    confidence: list[float] = []  # the reader's reading (beam top-1) and whether it is right: trust figures
    correct: list[bool] = []
    for start in range(0, len(images), reader.batch_size):
        log_probs = reader.log_probs(images[start : start + reader.batch_size])  # (B, T, K)
        greedy = [p.text for p in greedy_decode(log_probs, reader.charset)]  # the paper's top-1 (§IV-C)
        beams = prefix_beam_search(
            log_probs, reader.charset, max(reader.beam_width, 2), max(top_n), grammar=getattr(reader, "grammar", None)
        )  # top-N as the reader gives them: plates only, unless the reader was loaded with grammar=False
        batch_labels = labels[start : start + reader.batch_size]
        metrics.update(greedy, batch_labels, [[t for t, _ in b.topn] for b in beams])
        predictions += greedy
        confidence += [b.confidence for b in beams]
        correct += [b.text == label for b, label in zip(beams, batch_labels)]
    out: dict[str, Any] = {k: round(float(v), 4) for k, v in metrics.compute().items()}
    out["plates"] = int(out["plates"])
    out.update(confidence_figures(confidence, correct))
    if pictures is not None:
        from lprzoo.viz import confidence_report

        confidence_report(confidence, correct, title or "evaluation", Path(pictures))
    if breakdown:
        by_colour: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        by_province: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for image, label, pred in zip(images, labels, predictions):
            for table, key in ((by_colour, plate_colour(image)), (by_province, label[:1])):
                table[key][0] += int(pred == label)
                table[key][1] += 1
        out["by_colour"] = dict(sorted(by_colour.items()))
        out["by_province"] = {p: by_province[p] for p in PROVINCES if p in by_province}
        out["predictions"] = predictions
    return out
