"""Degradations: seeded, switchable by probability, and doing what they say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lprzoo.render import Degradations
from lprzoo.render import degrade as D

PHOTOMETRIC = [D.Dirt, D.UnevenLight, D.Shadow, D.ColorJitter, D.Defocus, D.MotionBlur, D.LowRes, D.GaussianNoise]


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((48, 160, 3), (30, 100, 222), np.float32)
    img[10:38, 20:140:12] = 240  # vertical white strokes
    return img + rng.normal(0, 1, img.shape).astype(np.float32)


@pytest.mark.parametrize("cls", PHOTOMETRIC)
def test_photometric_p1_changes_p0_keeps_seed_repeats(cls: type) -> None:
    img = _image()
    on, off = cls(p=1.0), cls(p=0.0)
    a, b = on(img, np.random.default_rng(3)), on(img, np.random.default_rng(3))
    assert a.shape == img.shape and np.array_equal(a, b)
    assert np.abs(a - img).mean() > 0.2
    assert off(img, np.random.default_rng(3)) is img


def test_jpeg_and_blur_effects() -> None:
    img = np.clip(_image(), 0, 255).astype(np.uint8)
    out = D.Jpeg(p=1.0, quality=(10, 10))(img, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == img.shape and not np.array_equal(out, img)
    sharp = np.abs(np.diff(_image(), axis=1)).mean()
    assert np.abs(np.diff(D.Defocus(p=1.0, sigma=(2, 2))(_image(), np.random.default_rng(0)), axis=1)).mean() < sharp
    noisy = D.GaussianNoise(p=1.0, sigma=(20, 20))(_image(), np.random.default_rng(0))
    assert 18 < (noisy - _image()).std() < 22


def test_homography_identity_without_geometry() -> None:
    m = Degradations.none().homography(300, 96, 160, 48, np.random.default_rng(0))
    corners = np.array([[0, 0, 1], [300, 0, 1], [300, 96, 1], [0, 96, 1]], float) @ m.T
    assert np.allclose(corners[:, :2] / corners[:, 2:], [[0, 0], [160, 0], [160, 48], [0, 48]], atol=1e-3)


def test_crop_jitter_can_cut_the_border() -> None:
    tight = dataclasses.replace(Degradations.none(), crop=D.CropJitter(p=1.0, x=(-0.05, -0.05), y=(-0.1, -0.1)))
    m = tight.homography(300, 96, 160, 48, np.random.default_rng(0))
    tl = np.array([0, 0, 1.0]) @ m.T
    assert (tl[:2] / tl[2] < 0).all()  # the plate's corner falls outside the output: a partial border


def test_affine_moves_corners_and_is_seeded() -> None:
    quad = np.array([[0, 0], [300, 0], [300, 96], [0, 96]], float)
    op = D.Affine(p=1.0, rotate=(10, 10), shear=(0, 0), stretch=(1, 1))
    out = op(quad, np.random.default_rng(0))
    assert np.allclose(out.mean(0), quad.mean(0)) and not np.allclose(out, quad)
    assert np.isclose(np.linalg.norm(out[1] - out[0]), 300)  # a rotation keeps lengths


def test_degradations_are_configurable() -> None:
    d = Degradations(noise=D.GaussianNoise(p=1.0, sigma=(5, 5)), jpeg=None)
    assert d.noise.sigma == (5, 5) and d.jpeg is None and d.affine == D.Affine()
    assert all(getattr(Degradations.none(), f.name) is None for f in dataclasses.fields(Degradations))
