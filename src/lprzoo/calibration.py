"""Calibrated plate confidence and the reject option (beyond the paper; Guo et al. 2017, temperature scaling).

A reader's confidence is the probability of its top reading under the CTC output.  Trained networks are
over-confident, more so after self-training on their own readings.  A :class:`Calibration` travels in the
weights' record (so torch, ONNX and int8 readers all apply it):

- ``temperature``: the logits are divided by it before ``log_softmax``; fitted on held-out labelled plates by
  minimising the negative log-likelihood of "the top reading is right" (word-level temperature scaling);
- ``curve``: on those plates, for each confidence threshold, the precision and coverage of the readings at or above
  it, from which ``lprzoo.load(name, min_precision=0.99)`` picks the lowest threshold whose precision is met;
- ``threshold``: the record's default operating point (``PlateReading.accepted``).

Pure numpy: the reader and every runtime import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

TEMPERATURES = np.exp(np.linspace(np.log(0.5), np.log(8.0), 25))  # the grid searched; 1.0 is on it
# Small moves of the plate that a reading should survive (torchvision ``affine`` arguments): 3 px left and right,
# 8 % smaller and 6 % larger, 3 degrees either way.  A reading that changes under one of them is doubtful, and that
# needs no label (docs/confidence.md, "Agreement between views").
VIEWS: tuple[dict[str, Any], ...] = (
    {"translate": [3, 0]},
    {"translate": [-3, 0]},
    {"scale": 0.92},
    {"scale": 1.06},
    {"angle": 3.0},
    {"angle": -3.0},
)
# A reading below this calibrated confidence is read again under every view, and the text the views find most
# probable on average is kept, with that mean as its confidence: on 2,400 renders of every kind (seeds other than
# render-types') the published every-plate reader read 98.0 % instead of 97.2 %, re-reading 9.7 % of them
# (docs/confidence.md, "Reading doubtful plates again").  New calibrations store it; older records read without.
REREAD_BELOW = 0.9


@dataclass
class Calibration:
    """How a reader's confidences were calibrated, and its operating points.

    Attributes:
        temperature: logits are divided by this before ``log_softmax``.
        threshold: readings with calibrated confidence at or above it are ``accepted``.
        min_precision: the precision ``threshold`` was chosen for, on ``fitted_on``.
        fitted_on: the labelled plates it was fitted on (never the data a model is judged on).
        plates: how many.
        ece_before, ece_after: expected calibration error (10 equal-width bins) on them, raw and calibrated.
        curve: ``[threshold, precision, coverage]`` rows, thresholds descending, on the calibrated confidences.
        views: how many of :data:`VIEWS` the reader reads each plate under (0: none).  With views, the curve and
            threshold are those of confidence x agreement (the share of views that read the same text), which is
            what ``accepted`` compares; the confidence itself stays as calibrated.
        reread_below: a reading below this confidence is read again under every view of :data:`VIEWS` and the
            text of highest mean probability over them kept, with that mean as its confidence (0: never); the
            curve, threshold and ``ece_after`` are of the readings so made.
    """

    temperature: float = 1.0
    threshold: float = 0.0
    min_precision: float = 0.99
    fitted_on: str = ""
    plates: int = 0
    ece_before: float | None = None
    ece_after: float | None = None
    curve: list[list[float]] = field(default_factory=list)
    views: int = 0
    reread_below: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Calibration | None:
        if not d:
            return None
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def threshold_for(self, min_precision: float) -> float:
        """The lowest threshold whose readings reached ``min_precision`` on the calibration plates (1.0 + ε, i.e.
        reject everything, when none did)."""
        return threshold_for_precision(self.curve, min_precision)


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """ECE: the bin-size-weighted mean |accuracy - mean confidence| over ``bins`` equal-width confidence bins."""
    conf, ok = np.asarray(confidence, float), np.asarray(correct, float)
    if len(conf) == 0:
        return 0.0
    index = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(ok[mask].mean() - conf[mask].mean())
    return float(total / len(conf))


def reliability(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[tuple[float, float, int]]:
    """Per bin: ``(mean confidence, accuracy, plates)`` (empty bins left out), for a reliability diagram."""
    conf, ok = np.asarray(confidence, float), np.asarray(correct, float)
    index = np.minimum((conf * bins).astype(int), bins - 1)
    return [
        (float(conf[index == b].mean()), float(ok[index == b].mean()), int((index == b).sum()))
        for b in range(bins)
        if (index == b).any()
    ]


def risk_coverage(confidence: Sequence[float], correct: Sequence[bool]) -> list[list[float]]:
    """``[threshold, precision, coverage]`` at every distinct confidence, thresholds descending."""
    conf, ok = np.asarray(confidence, float), np.asarray(correct, bool)
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    right = np.cumsum(ok)
    rows = []
    for i in range(len(conf)):
        if i + 1 < len(conf) and conf[i + 1] == conf[i]:
            continue  # a threshold accepts every reading of its confidence
        rows.append([float(conf[i]), float(right[i] / (i + 1)), float((i + 1) / len(conf))])
    return rows


def threshold_for_precision(curve: Sequence[Sequence[float]], min_precision: float) -> float:
    """The lowest threshold of ``curve`` whose accepted readings have at least ``min_precision``."""
    if not 0 < min_precision <= 1:
        raise ValueError(f"min_precision must lie in (0, 1], got {min_precision}")
    best = 1.0 + 1e-9  # accepts nothing
    for threshold, precision, _ in curve:  # thresholds descending: the last one that still holds wins
        if precision >= min_precision:
            best = threshold
    return best


def least_error_rate_shown(plates: int) -> float:
    """The smallest error rate ``plates`` labelled plates can rule out: with no error among all of them, the error
    rate is below ``3 / plates`` at 95 % confidence (the "rule of three", Hanley & Lippman-Hand 1983).  A precision
    above ``1 - 3 / plates`` cannot be shown on them, however the threshold is set."""
    return 3.0 / plates if plates > 0 else 1.0


def coverage_at(curve: Sequence[Sequence[float]], min_precision: float) -> float:
    """The share of readings accepted at the lowest threshold that keeps ``min_precision``."""
    threshold = threshold_for_precision(curve, min_precision)
    return max((coverage for t, _, coverage in curve if t >= threshold), default=0.0)


def confidence_figures(confidence: Sequence[float], correct: Sequence[bool]) -> dict[str, float]:
    """What a user of a reader's confidence needs on one labelled set: ECE, mean confidence, and the share of plates
    accepted at 99 % and 99.5 % precision (the reject option's coverage)."""
    conf = np.asarray(confidence, float)
    curve = risk_coverage(conf, correct)
    return {
        "ECE": round(expected_calibration_error(conf, correct), 4),
        "mean_confidence": round(float(conf.mean()), 4) if len(conf) else 0.0,
        "coverage@99": round(coverage_at(curve, 0.99), 4),
        "coverage@99.5": round(coverage_at(curve, 0.995), 4),
    }


def nll(confidence: np.ndarray, correct: np.ndarray) -> float:
    p = np.clip(confidence, 1e-7, 1 - 1e-7)
    return float(-(correct * np.log(p) + (1 - correct) * np.log(1 - p)).mean())


def fit_temperature(
    confidence_at: Callable[[float], np.ndarray],
    correct: Sequence[bool],
    temperatures: Sequence[float] = TEMPERATURES,
) -> float:
    """The temperature of ``temperatures`` that minimises the NLL of ``correct`` given ``confidence_at(T)``."""
    ok = np.asarray(correct, float)
    losses = [nll(np.asarray(confidence_at(float(t)), float), ok) for t in temperatures]
    return float(temperatures[int(np.argmin(losses))])
