"""The CTC loss as a pure function (paper §III-B), shared by recognizer training and the GAN's label keeper, and the
confidence penalty on the frames' output distributions (Pereyra et al. 2017)."""

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


def frame_entropy(log_probs: torch.Tensor) -> torch.Tensor:
    """``(B,)``: the mean over time steps of the entropy (nats) of each step's distribution ``(B, T, K)``.

    Subtracted from the loss with a weight, it is the confidence penalty of Pereyra et al. (2017), "Regularizing
    neural networks by penalizing confident output distributions".
    """
    return -(log_probs.exp() * log_probs).sum(-1).mean(-1)  # (B, T) -> (B,)
