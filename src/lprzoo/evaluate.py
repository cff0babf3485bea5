"""Evaluate a reader on named sets without Lightning: RA, CRA, CRA-C/NC, top-N, per colour and per province, and
the trust figures of its confidence (ECE, coverage at 99 % precision).

The numbers equal ``lprzoo test``'s (greedy best path for RA/CRA, beam search for top-N, §IV-B/C) when both run in
fp32.  Named sets (the zoo records' keys):

- ``real/val``: ``../shared/data/real/val`` (in-distribution cameras); ``../shared/data`` is relative to where lprzoo
  runs, as in the recipes, or ``$LPRZOO_DATA``;
- ``target/dev``: ``../shared/data/target/dev`` (another camera and region; evaluation only, never training);
- ``render-31``: 1,000 rendered plates, all 31 provinces uniform, 60 % blue / 35 % yellow / 5 % green, seed 31,
  drawn at the validation epoch (:data:`~lprzoo.render.plates.VAL_EPOCH`) so no training epoch ever shows them;
- ``render-types``: 100 rendered plates of every registered plate spec (every kind, docs/plates.md), all provinces
  uniform, the default degradations, seed 36, drawn at the validation epoch too.

A set's plate kinds (colour and rows) are the spec of each render, and for photos a side file
``<zoo>/kinds/<set>.tsv`` (``file<TAB>colour<TAB>rows``; ``benchmarks/kind_labels.py`` writes it, with a contact sheet
to check it by eye): they give the RA per colour and the kind head's accuracy.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lprzoo.batch import INPUT, InputContract
from lprzoo.calibration import confidence_figures
from lprzoo.charset import PROVINCES
from lprzoo.decode import greedy_decode
from lprzoo.kinds import PlateKind, colour_by_hue
from lprzoo.metrics import PlateMetrics
from lprzoo.weights import RecognizerRecord

SHARED = Path(os.environ.get("LPRZOO_DATA", "../shared/data"))  # the companion data folder, as the recipes name it
NAMED_SETS = {"real/val": SHARED / "real" / "val", "target/dev": SHARED / "target" / "dev"}
RENDER31 = {"n": 1000, "seed": 31, "specs": {"blue": 0.6, "yellow": 0.35, "green": 0.05}}
RENDER_TYPES = {"per_spec": 100, "seed": 36}


def plate_colour(image: Tensor) -> str:
    """``uint8 (3, H, W)`` -> ``blue``, ``yellow``, ``green`` or ``other``, by hue (:func:`lprzoo.kinds.colour_by_hue`);
    a model with a kind head says it better (``PlateReading.colour``)."""
    return colour_by_hue(image.permute(1, 2, 0).numpy()) or "other"


def rendered(
    n: int, specs: dict[str, float], seed: int, size: tuple[int, int] = INPUT.size, layout: str = INPUT.layout
) -> tuple[Tensor, list[str], list[str]]:
    """``n`` renders drawn at the validation epoch, which no training epoch reaches: ``uint8 (n, 3, H, W)`` at ``size``
    and ``layout`` (an input contract's), their labels and the spec each was drawn from."""
    from lprzoo.render.plates import VAL_EPOCH, ScriptPlates

    plates = ScriptPlates(n, dict(specs), seed=seed, size=size, layout=layout)
    items = [plates[VAL_EPOCH * plates.length + i] for i in range(plates.length)]
    drawn = [origin.split(":")[1] for _, _, origin in items]  # an item's origin is "render:<spec>:<epoch>:<i>"
    return torch.stack([image for image, _, _ in items]), [text for _, text, _ in items], drawn


@functools.lru_cache(maxsize=2)  # publish reads it twice: its plates, then their specs
def render_types(
    contract: InputContract = INPUT, per_spec: int = RENDER_TYPES["per_spec"], seed: int = RENDER_TYPES["seed"]
) -> tuple[Tensor, list[str], list[str]]:
    """The fixed every-kind rendered set at ``contract``'s size and layout: ``uint8 (N, 3, H, W)``, labels and the
    spec of each plate (:data:`RENDER_TYPES` plates per registered spec, in spec order; ``per_spec`` and ``seed``
    draw another such set, the k-th spec at ``seed + k``)."""
    from lprzoo.render.specs import SPECS

    images, labels, specs = [], [], []
    for k, spec in enumerate(SPECS):
        x, y, _ = rendered(per_spec, {spec: 1.0}, seed + k, contract.size, contract.layout)
        images.append(x)
        labels += y
        specs += [spec] * len(y)
    return torch.cat(images), labels, specs


def kind_labels(name: str) -> dict[str, PlateKind] | None:
    """A named photo set's plate kinds by file name, from ``<zoo>/kinds/<name>.tsv`` (``None`` when there is none)."""
    from lprzoo.hub import zoo_dir

    path = zoo_dir() / "kinds" / f"{name.replace('/', '-')}.tsv"
    if not path.is_file():
        return None
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    return {row[0]: PlateKind(row[1], row[2]) for row in rows}


def labelled_images(source: str | Path, record: RecognizerRecord) -> tuple[Tensor, list[str]]:
    """A labelled folder or labels file -> ``uint8 (N, 3, H, W)`` and labels, decoded as training does, in the
    charset and at the input size of ``record`` (a reader's :class:`~lprzoo.weights.RecognizerRecord`)."""
    images, labels, _ = _labelled(source, record)
    return images, labels


def _labelled(source: str | Path, record: RecognizerRecord) -> tuple[Tensor, list[str], list[str]]:
    from lprzoo.data.real import PlateImages
    from lprzoo.data.sources import read_source

    images = PlateImages(read_source(source, record.charset), name=str(source), size=record.input.size)
    return images.images, [s.label for s in images.samples], [Path(s.path).name for s in images.samples]


def load_named(
    name: str, record: RecognizerRecord, with_kinds: bool = False
) -> tuple[Tensor, list[str]] | tuple[Tensor, list[str], list[PlateKind | None]]:
    """A named set (``real/val``, ``target/dev``, ``render-31``, ``render-types``) or a labelled folder, as
    ``record``'s reader takes it; with ``with_kinds`` also each plate's kind (``None`` where it is not known)."""
    from lprzoo.render.specs import get_spec

    if name in ("render-31", "render-types"):
        if name == "render-31":
            images, labels, specs = rendered(**RENDER31, size=record.input.size, layout=record.input.layout)
        else:
            images, labels, specs = render_types(record.input)
        return (images, labels, [get_spec(s).kind for s in specs]) if with_kinds else (images, labels)
    images, labels, files = _labelled(NAMED_SETS.get(name, name), record)
    if not with_kinds:
        return images, labels
    known = kind_labels(name) or {}
    return images, labels, [known.get(f) for f in files]


def evaluate(
    reader,
    images: Tensor,
    labels: Sequence[str],
    top_n: Sequence[int] = (3, 5),
    breakdown: bool = True,
    pictures: Path | None = None,
    title: str = "",
    kinds: Sequence[PlateKind | None] | None = None,
    specs: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Metrics of a :class:`~lprzoo.reader.PlateReader` on ``uint8 (N, 3, H, W)`` images and their labels.

    Returns RA, CRA, CRA-C, CRA-NC, top-N and ``plates`` (of the greedy reading, the paper's), ``RA_reading`` (of
    the reader's own reading: the kind-constrained beam's top-1, its doubtful plates read again under small moves
    when the reader does, :meth:`~lprzoo.reader.PlateReader.reread`), the trust figures of that reading and its
    calibrated confidence (ECE, mean confidence, coverage at 99 % / 99.5 % precision,
    :func:`~lprzoo.calibration.confidence_figures`); with ``breakdown`` also RA ``by_colour`` and
    ``by_province`` (``{key: [correct, total]}``) and the greedy ``predictions``.  With ``pictures``, a folder, it
    also draws the set's reliability diagram and risk-coverage curve there (:func:`lprzoo.viz.confidence_report`,
    named after ``title``).  With ``kinds`` (each plate's kind, ``None`` unknown; :func:`load_named`), the RA per
    colour comes from them instead of the hue, and a reader with a kind head also gets ``kind_accuracy`` (colour and
    rows both right) and ``by_kind`` (``{kind: [kind right, total]}``).  With ``specs`` (each plate's spec, e.g.
    :func:`render_types`), RA ``by_spec`` and ``by_spec_reading`` too.
    """
    metrics = PlateMetrics(top_n)
    predictions: list[str] = []
    confidence: list[float] = []  # the reader's reading (beam top-1) and whether it is right: trust figures
    correct: list[bool] = []
    predicted_kinds: list[str] = []
    for start in range(0, len(images), reader.batch_size):
        logits, kind_logits = reader.logits_and_kind(images[start : start + reader.batch_size])
        log_probs = (logits / reader.temperature).log_softmax(-1)  # (B, T, K), calibrated as the reader reads
        predicted_kinds += [str(reader.kind_of(k)[0]) for k in kind_logits] if kind_logits.shape[1] else []
        greedy = [p.text for p in greedy_decode(log_probs, reader.charset)]  # the paper's top-1 (§IV-C)
        # top-N as the reader gives them: plates of the predicted kind, unless the reader was loaded with grammar=False
        beams = reader.decode(log_probs, max(top_n), kind_logits, beam_width=max(reader.beam_width, 2))
        # its doubtful plates read again under small moves, as it reads them
        beams = reader.reread(images[start : start + reader.batch_size], log_probs, kind_logits, beams)
        batch_labels = labels[start : start + reader.batch_size]
        metrics.update(greedy, batch_labels, [[t for t, _ in b.topn] for b in beams])
        predictions += greedy
        confidence += [b.confidence for b in beams]
        correct += [b.text == label for b, label in zip(beams, batch_labels)]
    out: dict[str, Any] = {k: round(float(v), 4) for k, v in metrics.compute().items()}
    out["plates"] = int(out["plates"])
    out["RA_reading"] = round(sum(correct) / max(len(correct), 1), 4)  # the reader's own reading's RA
    out.update(confidence_figures(confidence, correct))
    if pictures is not None:
        from lprzoo.viz import confidence_report

        confidence_report(confidence, correct, title or "evaluation", Path(pictures))
    if kinds is not None and predicted_kinds:
        by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for truth, guess in zip(kinds, predicted_kinds):
            if truth is not None:
                by_kind[str(truth)][0] += int(str(truth) == guess)
                by_kind[str(truth)][1] += 1
        if by_kind:
            out["kind_accuracy"] = round(sum(a for a, _ in by_kind.values()) / sum(n for _, n in by_kind.values()), 4)
            out["by_kind"] = dict(sorted(by_kind.items()))
    if breakdown:
        by_colour: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        by_province: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        colours = [
            plate_colour(image) if k is None else k.colour for image, k in zip(images, kinds or [None] * len(images))
        ]
        for colour, label, pred in zip(colours, labels, predictions):
            for table, key in ((by_colour, colour), (by_province, label[:1])):
                table[key][0] += int(pred == label)
                table[key][1] += 1
        out["by_colour"] = dict(sorted(by_colour.items()))
        if specs is not None:
            by_spec: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            by_spec_reading: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for spec, label, pred, right in zip(specs, labels, predictions, correct):
                by_spec[spec][0] += int(pred == label)
                by_spec[spec][1] += 1
                by_spec_reading[spec][0] += int(right)
                by_spec_reading[spec][1] += 1
            out["by_spec"] = dict(sorted(by_spec.items()))
            out["by_spec_reading"] = dict(sorted(by_spec_reading.items()))
        out["by_province"] = {p: by_province[p] for p in PROVINCES if p in by_province}
        out["predictions"] = predictions
    return out
