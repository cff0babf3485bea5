"""Shared fixtures: tiny labelled plate folders written to tmp_path, so tests need no downloaded data."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lprzoo.charset import DIGITS, PROVINCES

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LETTERS_NO_IO = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def random_label(rng: random.Random) -> str:
    return rng.choice(PROVINCES) + rng.choice(LETTERS_NO_IO) + "".join(rng.choice(DIGITS) for _ in range(5))


def write_plates(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (94, 24)) -> list[str]:
    """Write ``n`` random plate-like JPEGs named ``NNNNN_<label>.jpg``; returns the labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labels = []
    for i in range(n):
        label = random_label(rng)
        arr = np.random.default_rng(seed * 1000 + i).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:05d}_{label}.jpg")
        labels.append(label)
    return labels


@pytest.fixture
def plate_folder(tmp_path: Path) -> Path:
    write_plates(tmp_path / "plates", 12)
    return tmp_path / "plates"


@pytest.fixture
def ccpd_sample() -> Path:
    path = SHARED_DATA / "ccpd_sample"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(autouse=True)
def _private_weights_cache(tmp_path_factory, monkeypatch):
    """Tests never write into the user's ~/.cache/lprzoo."""
    monkeypatch.setenv("LPRZOO_CACHE", str(tmp_path_factory.mktemp("lprzoo-cache")))


def spelling_log_probs(text: str, charset):
    """CTC log-probabilities ``(1, T, K)`` that spell ``text``: each character, then a likely blank."""
    import torch

    probs = torch.full((1, 2 * len(text) + 2, charset.num_classes), 1e-4)
    for t, ch in enumerate(text):
        probs[0, 2 * t + 1, charset.encode(ch)[0]] = 0.8
    probs[0, ::2, 0] = 1.0
    return (probs / probs.sum(-1, keepdim=True)).log()


class TwoMinds(torch.nn.Module):
    """A recognizer of two minds: it reads a still plate (one grey level) as ``皖A12345`` at ~0.6 (``皖A12346`` ~0.4)
    and any moved one (a border of the reader's views' fill) as ``皖A12346``, sure of it."""

    first, second = "皖A12345", "皖A12346"

    def __init__(self, charset) -> None:
        super().__init__()

        def spelled(text: str) -> torch.Tensor:  # (T, K): each character on its own frame between sure blanks
            out = torch.zeros(2 * len(text) + 1, charset.num_classes)
            for t in range(len(out)):
                out[t, charset.encode(text[t // 2])[0] if t % 2 else 0] = 12.0
            return out

        still = spelled(self.first)
        still[2 * len(self.first) - 1, charset.encode("6")[0]] = 11.6  # the last character: 5 ~0.6, 6 ~0.4
        self.register_buffer("still", still)
        self.register_buffer("moved", spelled(self.second))

    @staticmethod
    def is_moved(x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).amin(1) < 0.6  # (B,): the fill (127 / 255) shows at the border

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(self.is_moved(x)[:, None, None], self.moved, self.still)  # (B, T, K)
