"""The CTC loss as a pure function (paper §III-B), shared by recognizer training and the GAN's label keeper."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ctc_loss(log_probs: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss of log-probabilities ``(B, T, K)`` against padded ``targets (B, L)``; blank is class 0."""
    b, t, _ = log_probs.shape
    input_lengths = torch.full((b,), t, dtype=torch.long, device=log_probs.device)
    return F.ctc_loss(
        log_probs.transpose(0, 1),  # (T, B, K)
        targets,
        input_lengths,
        target_lengths,
        blank=0,
        zero_infinity=True,
    )
