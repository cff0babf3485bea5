"""``lprzoo calibrate``: fit a reader's confidence on held-out labelled plates and store it in its record.

Word-level temperature scaling (:mod:`lprzoo.calibration`): the network runs once, then for each temperature of
a grid the beam top-1 and its probability are recomputed from ``logits / T``; the temperature with the lowest
negative log-likelihood of "the top reading is right" wins.  The record then carries the temperature, the
precision-coverage curve on those plates and the threshold for ``min_precision``, so every runtime (torch, ONNX,
int8) reads calibrated confidences and ``PlateReading.accepted``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from lprzoo.calibration import (
    REREAD_BELOW,
    Calibration,
    coverage_at,
    expected_calibration_error,
    fit_temperature,
    risk_coverage,
)
from lprzoo.errors import LprzooError

# torch, the decoder and the pictures are imported where they run, and torch types are named in strings: `lprzoo
# calibrate --help` stays light (jsonargparse would import a TYPE_CHECKING block to resolve them)

log = logging.getLogger(__name__)


def top_readings(
    logits: torch.Tensor,  # noqa: F821
    charset,
    temperature: float,
    beam_width: int,
    grammar=None,
) -> list[tuple[str, float]]:
    """Beam top-1 ``(text, probability)`` of every plate under ``logits / temperature`` ``(B, T, K)``, decoded as the
    reader decodes (``grammar``: its :class:`~lprzoo.decode.PlateGrammar`, if any)."""
    from lprzoo.decode import prefix_beam_search

    predictions = prefix_beam_search((logits / temperature).log_softmax(-1), charset, beam_width, 1, grammar=grammar)
    return [(p.text, p.confidence) for p in predictions]


def all_logits(reader, images: torch.Tensor, batch: int = 256) -> torch.Tensor:  # noqa: F821
    """The reader's raw scores ``(N, T, K)`` for ``uint8 (N, 3, H, W)`` plates, ``batch`` at a time."""
    import torch

    return torch.cat([reader.logits(images[i : i + batch]) for i in range(0, len(images), batch)])


def fit_calibration(
    reader,
    images: torch.Tensor,  # noqa: F821
    labels: Sequence[str],
    min_precision: float = 0.99,
    fitted_on: str = "",
    logits: torch.Tensor | None = None,  # noqa: F821
    views: int = 0,
    reread_below: float = 0.0,
) -> Calibration:
    """A :class:`Calibration` of ``reader`` on labelled plates ``images`` (``uint8 (N, 3, H, W)``); ``logits``: the
    reader's scores for them, if the caller has them already.  With ``views``, the operating point is fitted for the
    score confidence x agreement, the share of the views that read the same text (the reader accepts by the same
    score); the confidence itself is calibrated as without views.  With ``reread_below``, the temperature is fitted as
    without, then the curve, threshold and ECE are of the readings the reader makes with it
    (:meth:`~lprzoo.reader.PlateReader.reread`)."""
    logits = all_logits(reader, images) if logits is None else logits  # (N, T, K)
    width, grammar = max(reader.beam_width, 1), getattr(reader, "grammar", None)

    def readings(t: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
        top = top_readings(logits, reader.charset, t, width, grammar)
        texts = [text for text, _ in top]
        return np.array([p for _, p in top]), np.array([text == label for text, label in zip(texts, labels)]), texts

    raw_conf, raw_ok, _ = readings(1.0)
    temperature = fit_temperature(lambda t: readings(t)[0], raw_ok)
    conf, ok, texts = readings(temperature)
    if reread_below > 0:  # the doubtful plates read again under small moves, as the calibrated reader will
        saved = reader.temperature, reader.reread_below
        reader.temperature, reader.reread_below = temperature, reread_below
        try:
            read = [p for i in range(0, len(labels), 256) for p in reader.read_plates(images[i : i + 256])]
        finally:
            reader.temperature, reader.reread_below = saved
        texts = [p.text for p in read]
        conf, ok = np.array([p.confidence for p in read]), np.array([t == y for t, y in zip(texts, labels)])
    score = conf
    if views:  # a reading that a small move of the plate changes is never accepted
        saved = reader.views, reader.temperature
        reader.views, reader.temperature = views, temperature  # the views read as the calibrated reader will
        try:
            agree = np.concatenate([reader.agreement(images[i : i + 256], texts[i : i + 256])
                                    for i in range(0, len(texts), 256)])  # fmt: skip
        finally:
            reader.views, reader.temperature = saved
        score = conf * agree  # measured best on real/val against "every view agrees" and "k of 6 agree"
    curve = risk_coverage(score, ok)
    calibration = Calibration(
        temperature=round(temperature, 4),
        min_precision=min_precision,
        fitted_on=fitted_on,
        plates=len(labels),
        ece_before=round(expected_calibration_error(raw_conf, raw_ok), 4),
        ece_after=round(expected_calibration_error(conf, ok), 4),
        curve=[[round(v, 6) for v in row] for row in curve],
        views=views,
        reread_below=reread_below,
    )
    calibration.threshold = calibration.threshold_for(min_precision)
    return calibration


def calibrate(
    model: str = "",
    data: str = "../shared/data/real/val",
    out: str = "",
    min_precision: float = 0.99,
    report: str | None = None,
    views: int = 0,
    reread_below: float = REREAD_BELOW,
    layout: str | None = None,
) -> Path:
    """Fit a reader's confidence on held-out labelled plates and write the reader with its calibration.

    Args:
        model: a zoo name or weights file (``.safetensors`` / ``.ckpt``).
        data: held-out labelled crops of the cameras it will read (never the set it is judged on).
        out: the calibrated ``.safetensors`` to write.
        min_precision: the record's operating point: accept the readings above the lowest threshold that kept this
            precision on ``data`` (``PlateReading.accepted``; ``lprzoo.load(..., min_precision=)`` picks another).
        report: a folder for the reliability diagram and the risk-coverage curve, before and after (default: beside
            ``out``).
        views: accept a reading only when it survives this many small moves of the plate (0 to 6,
            :data:`lprzoo.calibration.VIEWS`); raises coverage at a precision, at one network pass per view.
        reread_below: the reader reads a plate below this confidence again under the six views and keeps the text
            they find most probable (:data:`lprzoo.calibration.REREAD_BELOW`; 0: never); the operating point is
            fitted on the readings so made.
        layout: the input layout the reader reads with (:data:`lprzoo.layout.LAYOUTS`; default its record's), e.g.
            ``rows-level`` for a reader trained under ``rows-tight``; the calibration is fitted reading so.
    """
    import torch

    from lprzoo.evaluate import labelled_images
    from lprzoo.reader import PlateReader
    from lprzoo.viz import confidence_report
    from lprzoo.weights import load_recognizer, read_weights, save_recognizer

    if not model or not out:
        raise LprzooError("calibrate: give --model and --out")
    if not 0 < min_precision <= 1:
        raise LprzooError(f"calibrate: --min_precision must lie in (0, 1], got {min_precision}")
    if not 0 <= views <= 6:
        raise LprzooError(f"calibrate: --views must lie in [0, 6], got {views}")
    if not 0 <= reread_below <= 1:
        raise LprzooError(f"calibrate: --reread_below must lie in [0, 1], got {reread_below}")
    net, record = load_recognizer(model)
    record = replace(record, calibration=None)
    if layout is not None:
        from lprzoo.layout import LAYOUTS

        if layout not in LAYOUTS:
            raise LprzooError(f"calibrate: --layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        record = replace(record, input=replace(record.input, layout=layout))
    reader = PlateReader(net, record)
    images, labels = labelled_images(data, record)
    logits = all_logits(reader, images)  # one pass of the network: the fit and the pictures share it
    calibration = fit_calibration(reader, images, labels, min_precision, str(data), logits, views, reread_below)
    target = Path(out)
    floats = [v for v in read_weights(model).state_dict.values() if v.is_floating_point()]
    dtype = floats[0].dtype if floats and floats[0].dtype in (torch.float16, torch.float32) else torch.float32
    save_recognizer(target, net, replace(record, calibration=calibration), dtype=dtype)
    folder = Path(report) if report else target.parent / f"{target.stem}-calibration"
    before = top_readings(logits, record.charset, 1.0, reader.beam_width, reader.grammar)
    after = top_readings(logits, record.charset, calibration.temperature, reader.beam_width, reader.grammar)
    figures = {}
    for name, top in (("raw", before), ("calibrated", after)):
        ok = [text == label for (text, _), label in zip(top, labels)]
        figures[name] = confidence_report([p for _, p in top], ok, f"{Path(data).name} {name}", folder)
    log.info(
        "calibrate: temperature %.3f; ECE %.4f -> %.4f on %d plates of %s; threshold %.4f for precision %.3f "
        "(coverage %.1f %%) -> %s; pictures in %s",
        calibration.temperature, calibration.ece_before, calibration.ece_after, len(labels), data,
        calibration.threshold, min_precision, 100 * coverage_at(calibration.curve, min_precision), target, folder,
    )  # fmt: skip
    return target
