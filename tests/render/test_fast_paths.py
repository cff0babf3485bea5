"""The renderer's fast paths draw the same bytes as the plain numpy formulas they replace (fixed render sets and
seeded training runs depend on every pixel)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lprzoo.render import Degradations, PlateRenderer
from lprzoo.render import degrade as D

SEEDS = range(200)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# the numpy formulas as first written (one array expression per step)


def _affine(op: D.Affine, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return quad
    a, sh, st = np.deg2rad(D._uniform(rng, op.rotate)), D._uniform(rng, op.shear), D._uniform(rng, op.stretch)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    m = rot @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.diag([np.sqrt(st), 1 / np.sqrt(st)])
    c = quad.mean(0)
    return (quad - c) @ m.T + c


def _perspective(op: D.Perspective, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return quad
    s = D._uniform(rng, op.strength)
    return quad + (rng.random((4, 2)) * 2 - 1) * s * (quad.max(0) - quad.min(0))


def _scale(op: D.ScaleJitter, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return window
    s = D._uniform(rng, op.scale)
    c, half = (window[:2] + window[2:]) / 2, (window[2:] - window[:2]) / 2 * s
    return np.concatenate([c - half, c + half])


def _crop(op: D.CropJitter, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return window
    u = rng.random(4)
    w, h = window[2:] - window[:2]
    dx = op.x[0] + (op.x[1] - op.x[0]) * u[[0, 2]]
    dy = op.y[0] + (op.y[1] - op.y[0]) * u[[1, 3]]
    return window + np.array([-dx[0] * w, -dy[0] * h, dx[1] * w, dy[1] * h])


def _homography(d: Degradations, pw: int, ph: int, ow: int, oh: int, rng: np.random.Generator) -> np.ndarray:
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64)
    quad = _perspective(d.perspective, _affine(d.affine, corners, rng), rng)
    window = _crop(d.crop, _scale(d.scale, np.concatenate([quad.min(0), quad.max(0)]), rng), rng)
    dst = (quad - window[:2]) * (np.array([ow, oh]) / (window[2:] - window[:2]))
    return cv2.getPerspectiveTransform(corners.astype(np.float32), dst.astype(np.float32))


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / h
    return xx, yy


def _light(op: D.UnevenLight, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return img
    xx, yy = _grid(*img.shape[:2])
    t, s = 2 * np.pi * rng.random(), D._uniform(rng, op.strength)
    g = np.cos(t) * xx + np.sin(t) * yy
    g = (g - g.min()) / max(float(np.ptp(g)), 1e-6)
    return D._gain(img, (1 - s + 2 * s * g).astype(np.float32))


def _shadow(op: D.Shadow, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return img
    h, w = img.shape[:2]
    xx, yy = _grid(h, w)
    t, s, soft = 2 * np.pi * rng.random(), D._uniform(rng, op.strength), D._uniform(rng, op.softness)
    cx, cy = rng.random() * w / h, rng.random()
    d = (np.cos(t) * (xx - cx) + np.sin(t) * (yy - cy)) / soft
    return D._gain(img, (1 - s * np.clip(d + 0.5, 0, 1)).astype(np.float32))


def _color(op: D.ColorJitter, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return img
    u = rng.random(6)
    sat, con, bri = (r[0] + (r[1] - r[0]) * v for r, v in zip((op.saturation, op.contrast, op.brightness), u))
    gain = op.cast[0] + (op.cast[1] - op.cast[0]) * u[3:]
    m = sat * np.eye(3) + (1 - sat) / 3
    mean = float(np.mean(cv2.mean(img)[:3]))
    affine = np.concatenate([con * m, np.full((3, 1), (1 - con) * mean + bri)], 1) * gain[:, None]
    return cv2.transform(img, affine.astype(np.float32))


def _noise(op: D.GaussianNoise, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not D._fires(rng, op.p):
        return img
    bank, n = D._noise_bank(), img.size
    start = int(rng.integers(0, len(bank) - n))
    return img + bank[start : start + n].reshape(img.shape) * np.float32(D._uniform(rng, op.sigma))


def _image(seed: int, h: int = 48, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w, 3), dtype=np.float32) * 300 - 20, (5, 5), 1.5)


def test_homography_matches_the_array_formulas() -> None:
    wide = Degradations(
        affine=D.Affine(p=0.9, rotate=(-40, 40), shear=(-0.5, 0.5), stretch=(0.5, 2.0)),
        perspective=D.Perspective(p=0.7, strength=(0.0, 0.3)),
        scale=D.ScaleJitter(p=0.7, scale=(0.5, 1.5)),
    )
    for d in (Degradations(), wide):
        for seed in SEEDS:
            pw, ph, ow, oh = 200 + seed, 60 + seed % 50, 160 - seed % 60, 48 - seed % 20
            fast = d.homography(pw, ph, ow, oh, rng := np.random.default_rng(seed))
            slow = _homography(d, pw, ph, ow, oh, ref := np.random.default_rng(seed))
            assert _same(fast, slow) and rng.random() == ref.random()


@pytest.mark.parametrize(
    ("op", "formula", "values"),
    [
        (D.Affine(p=1.0), _affine, lambda r: r.random((4, 2)) * 300),
        (D.Perspective(p=1.0), _perspective, lambda r: r.random((4, 2)) * 300),
        (D.ScaleJitter(p=1.0), _scale, lambda r: np.concatenate([r.random(2) * 50, 100 + r.random(2) * 200])),
        (D.CropJitter(p=1.0), _crop, lambda r: np.concatenate([r.random(2) * 50, 100 + r.random(2) * 200])),
    ],
)
def test_geometric_calls_match_the_array_formulas(op, formula, values) -> None:
    for seed in SEEDS:
        v = values(np.random.default_rng(seed))
        assert _same(op(v, np.random.default_rng(seed)), formula(op, v, np.random.default_rng(seed)))
    v = values(np.random.default_rng(0))
    assert D.CropJitter(p=0.0)(v, np.random.default_rng(0)) is v


@pytest.mark.parametrize(
    ("op", "formula"),
    [
        (D.UnevenLight(p=1.0), _light),
        (D.UnevenLight(p=1.0, strength=(0.0, 1.0)), _light),
        (D.Shadow(p=1.0), _shadow),
        (D.Shadow(p=1.0, softness=(1e-3, 2.0)), _shadow),
        (D.ColorJitter(p=1.0), _color),
        (D.GaussianNoise(p=1.0), _noise),
    ],
)
def test_photometric_matches_the_array_formulas(op, formula) -> None:
    for seed in SEEDS:
        img = _image(seed, *((48, 160), (24, 94), (17, 61))[seed % 3])
        fast, rng = op(img.copy(), np.random.default_rng(seed)), np.random.default_rng(seed)
        assert _same(fast, formula(op, img.copy(), rng))


def test_cached_cells_draw_what_blending_in_order_draws() -> None:
    for spec in ("blue", "green", "yellow-double", "police"):
        cached, blended = PlateRenderer(spec), PlateRenderer(spec)
        blended._disjoint = False  # the path for specs whose cells overlap: blend each glyph over the plate
        for seed in range(20):
            rng = np.random.default_rng(seed)
            text, font = cached.sample_text(rng), int(rng.integers(len(cached.latin_fonts)))
            assert _same(cached.compose(text, font), blended.compose(text, font))
        assert _same(cached.compose(text, font), blended.compose(text, font))  # the second time from the cache
