"""Shared fixtures: tiny labelled plate folders written to tmp_path, so tests need no downloaded data."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
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
