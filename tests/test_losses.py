"""The CTC loss and the confidence penalty of recognizer training."""

import math

import torch

from lprzoo.losses import frame_entropy


def test_frame_entropy_is_zero_when_sure_and_log_k_when_uniform():
    sure = torch.full((1, 4, 5), -30.0).index_fill_(2, torch.tensor([2]), 0.0).log_softmax(-1)  # (B, T, K)
    uniform = torch.zeros(2, 4, 5).log_softmax(-1)
    half = torch.cat([sure, uniform[:1]], dim=1)  # 4 sure steps, then 4 uniform ones
    assert frame_entropy(sure).item() < 1e-9
    assert torch.allclose(frame_entropy(uniform), torch.full((2,), math.log(5)))
    assert math.isclose(frame_entropy(half).item(), math.log(5) / 2, rel_tol=1e-6)
