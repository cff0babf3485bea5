"""Plate metrics of §IV-B: RA (Eq. 11), CRA (Eq. 12), CRA-C / CRA-NC (Table IV) and top-N RA.

:class:`PlateMetrics` is a ``torchmetrics.Metric`` whose states are sums, so Lightning/torchmetrics reduce them
correctly across DDP ranks before ``compute``.

Counting characters of a prediction of the wrong length: the prediction is aligned to the label with a
Levenshtein alignment (unit costs) and a label character counts as correct when the alignment matches it to an
equal predicted character.  For a prediction of the right length this is plain position-by-position
comparison, except that a single insertion/deletion no longer shifts every later character into an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric


def matched_positions(pred: str, target: str) -> set[int]:
    """Indices of ``target`` characters matched by an equal character of ``pred`` in a min-edit alignment."""
    if len(pred) == len(target):
        return {i for i, (p, t) in enumerate(zip(pred, target)) if p == t}
    n, m = len(pred), len(target)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = dist[i - 1][j - 1] + (pred[i - 1] != target[j - 1])
            dist[i][j] = min(sub, dist[i - 1][j] + 1, dist[i][j - 1] + 1)
    matched, i, j = set(), n, m
    while i > 0 and j > 0:
        if dist[i][j] == dist[i - 1][j - 1] + (pred[i - 1] != target[j - 1]):
            if pred[i - 1] == target[j - 1]:
                matched.add(j - 1)
            i, j = i - 1, j - 1
        elif dist[i][j] == dist[i - 1][j] + 1:
            i -= 1
        else:
            j -= 1
    return matched


class PlateMetrics(Metric):
    """RA, CRA, CRA-C, CRA-NC, top-N RA and the plate count over a stream of (prediction, label) pairs.

    Args:
        top_n: the N of the top-N accuracies to report (needs beam-search candidates in ``update``).
    """

    full_state_update = False

    def __init__(self, top_n: Sequence[int] = (3, 5), **kwargs) -> None:
        super().__init__(**kwargs)
        self.top_n = tuple(top_n)
        for name in ("plates", "plates_correct", "chars", "chars_correct", "first_correct", "rest", "rest_correct"):
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("topn_correct", default=torch.zeros(len(self.top_n), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Sequence[str], targets: Sequence[str], candidates: Sequence[Sequence[str]] | None = None):
        """Args: best texts, labels, and optionally each plate's beam-search candidates (best first)."""
        if len(preds) != len(targets):
            raise ValueError(f"{len(preds)} predictions for {len(targets)} labels")
        for i, (pred, target) in enumerate(zip(preds, targets)):
            hits = matched_positions(pred, target)
            self.plates += 1
            self.plates_correct += int(pred == target)
            self.chars += len(target)
            self.chars_correct += len(hits)
            self.first_correct += int(0 in hits)
            self.rest += max(0, len(target) - 1)
            self.rest_correct += len(hits - {0})
            if candidates is not None:
                for j, n in enumerate(self.top_n):
                    self.topn_correct[j] += int(target in list(candidates[i])[:n])

    def compute(self) -> dict[str, torch.Tensor]:
        def ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
            return num.float() / den.clamp(min=1).float()

        out = {
            "RA": ratio(self.plates_correct, self.plates),
            "CRA": ratio(self.chars_correct, self.chars),
            "CRA-C": ratio(self.first_correct, self.plates),
            "CRA-NC": ratio(self.rest_correct, self.rest),
            "plates": self.plates.float(),  # how many plates were scored (summed over DDP ranks)
        }
        for j, n in enumerate(self.top_n):
            out[f"top{n}"] = ratio(self.topn_correct[j], self.plates)
        return out


class ConfidenceMetrics(Metric):
    """Trust figures of a stream of readings: ECE, mean confidence, and coverage at 99 % / 99.5 % precision
    (:func:`~lprzoo.calibration.confidence_figures`).  Its states are the per-plate confidences and hits, gathered
    across DDP ranks (``cat``), because coverage at a precision needs all of them at once."""

    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("confidence", default=[], dist_reduce_fx="cat")
        self.add_state("correct", default=[], dist_reduce_fx="cat")

    def update(self, confidence: Sequence[float], correct: Sequence[bool]) -> None:
        self.confidence.append(torch.tensor(list(confidence), dtype=torch.float64, device=self.device))
        self.correct.append(torch.tensor(list(correct), dtype=torch.float64, device=self.device))

    def pairs(self) -> tuple[list[float], list[bool]]:
        """All confidences and hits so far (across ranks after a sync)."""
        confidence, correct = self.confidence, self.correct
        if isinstance(confidence, list):  # not synced, or nothing seen
            confidence = torch.cat(confidence) if confidence else torch.zeros(0, dtype=torch.float64)
            correct = torch.cat(correct) if correct else torch.zeros(0, dtype=torch.float64)
        return confidence.cpu().tolist(), [bool(c) for c in correct.cpu().tolist()]

    def compute(self) -> dict[str, torch.Tensor]:
        from lprzoo.calibration import confidence_figures

        return {k: torch.tensor(v) for k, v in confidence_figures(*self.pairs()).items()}
