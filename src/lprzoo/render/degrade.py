"""Seeded degradations of rendered plates (paper §IV-C: "adding some Gaussian noise, motion blurring and affine
deformation"), extended with what real detector crops show: perspective, scale and crop jitter (partial
borders), lighting, dirt, defocus, low resolution (crops are often 94x24 or smaller) and JPEG artefacts.

Every degradation is a small frozen dataclass with a probability ``p`` and value ranges; calling it draws from
a :class:`numpy.random.Generator`, so a seeded generator reproduces the image. Geometric ones move the plate's
corners (``quad``) or the crop window; :class:`Degradations` composes them into one homography, applied by the
renderer in a single warp. Photometric ones act on float32 RGB images in [0, 255] at output size.

OpenCV (``opencv-python-headless``) does the warps, blurs and JPEG because it is measurably faster than PIL at
these sizes (one core, 160x48 output, busy machine): perspective warp 72 us (float32) vs PIL ``Image.transform``
204 us (uint8); Gaussian blur 24 us vs 307 us; JPEG round trip 86 us vs 248 us.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Literal

import cv2
import numpy as np

Range = tuple[float, float]


def _uniform(rng: np.random.Generator, r: Range) -> float:
    return r[0] + (r[1] - r[0]) * rng.random()


def _fires(rng: np.random.Generator, p: float) -> bool:
    return p > 0 and rng.random() < p


# --- geometry: corners of the plate (4, 2) and the crop window (x0, y0, x1, y1), in plate pixels ----------------
# Four points are cheaper as Python floats than as numpy arrays (a numpy call costs more than the maths), so the
# geometric degradations work on lists inside :meth:`Degradations.homography`; called directly, they take and return
# float64 arrays. The arithmetic is numpy's, operation by operation (IEEE float64 either way): the same corners.


class _Geometric:
    """Calling a geometric degradation: ``values`` (an array) -> moved values (the same object if it did not fire)."""

    def __call__(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        given = np.asarray(values, np.float64).tolist()
        moved = self._apply(given, rng)
        return values if moved is given else np.array(moved)

    def _apply(self, values: list, rng: np.random.Generator) -> list:
        raise NotImplementedError


@dataclass(frozen=True)
class Affine(_Geometric):
    """Rotation, horizontal shear (slant) and anisotropic scale about the plate centre (the paper's affine).

    Attributes:
        p: probability.
        rotate: degrees.
        shear: x shift per unit of y (0.2 slants the plate by ~11 degrees).
        stretch: horizontal / vertical scale ratio.
    """

    p: float = 0.8
    rotate: Range = (-6.0, 6.0)
    shear: Range = (-0.18, 0.18)
    stretch: Range = (0.9, 1.1)

    def _apply(self, quad: list[list[float]], rng: np.random.Generator) -> list[list[float]]:
        if not _fires(rng, self.p):
            return quad
        a, sh, st = np.deg2rad(_uniform(rng, self.rotate)), _uniform(rng, self.shear), _uniform(rng, self.stretch)
        cos, sin, root = np.cos(a), np.sin(a), np.sqrt(st)
        # numpy's matrix products (BLAS) kept as they are: their rounding is the library's
        m = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.diag([root, 1 / root])
        q = np.array(quad)
        c = q.mean(0)
        return ((q - c) @ m.T + c).tolist()


@dataclass(frozen=True)
class Perspective(_Geometric):
    """Each corner moves independently by up to ``strength`` x (plate width, plate height)."""

    p: float = 0.5
    strength: Range = (0.0, 0.06)

    def _apply(self, quad: list[list[float]], rng: np.random.Generator) -> list[list[float]]:
        if not _fires(rng, self.p):
            return quad
        s = _uniform(rng, self.strength)
        xs, ys = [q[0] for q in quad], [q[1] for q in quad]
        size = (max(xs) - min(xs), max(ys) - min(ys))
        shift = rng.random((len(quad), 2)).tolist()
        return [[q[k] + (r[k] * 2 - 1) * s * size[k] for k in (0, 1)] for q, r in zip(quad, shift)]


@dataclass(frozen=True)
class ScaleJitter(_Geometric):
    """Zoom of the crop window about its centre: ``scale`` > 1 shows more surroundings, < 1 cuts the plate."""

    p: float = 0.5
    scale: Range = (0.94, 1.08)

    def _apply(self, window: list[float], rng: np.random.Generator) -> list[float]:
        if not _fires(rng, self.p):
            return window
        s = _uniform(rng, self.scale)
        x0, y0, x1, y1 = window
        cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * s, (y1 - y0) / 2 * s
        return [cx - hx, cy - hy, cx + hx, cy + hy]


@dataclass(frozen=True)
class CropJitter(_Geometric):
    """Each side of the crop window moves out (positive) or in (negative, a partial border like a detector's
    tight box) by a fraction of the window's width (``x``) or height (``y``)."""

    p: float = 1.0
    x: Range = (-0.03, 0.04)
    y: Range = (-0.06, 0.10)

    def _apply(self, window: list[float], rng: np.random.Generator) -> list[float]:
        if not _fires(rng, self.p):
            return window
        u = rng.random(4).tolist()
        x0, y0, x1, y1 = window
        w, h = x1 - x0, y1 - y0
        dx0, dx1 = (self.x[0] + (self.x[1] - self.x[0]) * v for v in (u[0], u[2]))
        dy0, dy1 = (self.y[0] + (self.y[1] - self.y[0]) * v for v in (u[1], u[3]))
        return [x0 + -dx0 * w, y0 + -dy0 * h, x1 + dx1 * w, y1 + dy1 * h]


# --- photometric: float32 (H, W, 3) in [0, 255] -> same ----------------------------------------------------------


def _gain(img: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``img * gain[..., None]`` without numpy's slow broadcast over a length-3 last axis."""
    return img * cv2.merge((gain, gain, gain))


@functools.lru_cache(maxsize=8)
def _axes(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates along x (w,) and y (h,), float32, scaled so the image's height is 1 (keeps gradients
    isotropic). Gradients are sums of a row and a column term, so they are computed on these, then broadcast."""
    x, y = np.arange(w, dtype=np.float32) / h, np.arange(h, dtype=np.float32) / h
    x.flags.writeable = y.flags.writeable = False
    return x, y


@functools.lru_cache(maxsize=8)
def _dirt_bank(h: int, w: int, n: int = 8) -> np.ndarray:
    """``n`` smooth blotch masks (2h, 2w) in [0, 1], from a fixed seed: per image only a crop offset is drawn."""
    rng = np.random.default_rng(20180315)
    bank = []
    for _ in range(n):
        coarse = rng.random((max(2, h // 6), max(2, w // 6))).astype(np.float32)
        fine = cv2.resize(coarse, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
        speck = cv2.GaussianBlur((rng.random((2 * h, 2 * w)) > 0.985).astype(np.float32), (3, 3), 0.8)
        bank.append(np.clip((fine - 0.55) * 3.0, 0, 1) * 0.7 + np.clip(speck * 2.0, 0, 1) * 0.3)
    return np.stack(bank)


@dataclass(frozen=True)
class Dirt:
    """Brownish blotches and specks, alpha ``strength``."""

    p: float = 0.3
    strength: Range = (0.15, 0.6)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        h, w = img.shape[:2]
        bank = _dirt_bank(h, w)
        u = rng.random(6)
        mask = bank[int(u[0] * len(bank)), int(u[1] * h) :, int(u[2] * w) :][:h, :w]
        a = (_uniform(rng, self.strength) * mask).astype(np.float32)
        colour = cv2.merge([a * np.float32(c + 50 * u[3]) for c in (70, 60, 45)])
        return _gain(img, 1 - a) + colour


@dataclass(frozen=True)
class UnevenLight:
    """A linear illumination gradient: gain from ``1 - s`` to ``1 + s`` across the image in a random direction."""

    p: float = 0.5
    strength: Range = (0.1, 0.45)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        x, y = _axes(*img.shape[:2])
        t, s = 2 * np.pi * rng.random(), _uniform(rng, self.strength)
        # g = cos(t) * x + sin(t) * y over the grid; rounding is monotonic, so the grid's extremes are sums of the
        # axes' extremes: the same floats (numpy scalars, in g's dtype) that reductions over the grid find
        gx, gy = np.cos(t) * x, np.sin(t) * y
        low, high = gx.min() + gy.min(), gx.max() + gy.max()
        g = gx[None, :] + gy[:, None]
        g -= low
        g /= max(float(high - low), 1e-6)
        g *= 2 * s
        g += 1 - s
        return _gain(img, g.astype(np.float32))


@dataclass(frozen=True)
class Shadow:
    """A soft-edged shadow over a half plane (a pole, a bumper) darkening by ``strength``."""

    p: float = 0.25
    strength: Range = (0.25, 0.65)
    softness: Range = (0.02, 0.25)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        h, w = img.shape[:2]
        x, y = _axes(h, w)
        t, s, soft = 2 * np.pi * rng.random(), _uniform(rng, self.strength), _uniform(rng, self.softness)
        cx, cy = rng.random() * w / h, rng.random()
        d = (np.cos(t) * (x - cx))[None, :] + (np.sin(t) * (y - cy))[:, None]  # float64 over the grid
        d /= soft
        d += 0.5
        np.clip(d, 0, 1, out=d)
        d *= s
        return _gain(img, np.subtract(1, d, out=d).astype(np.float32))


@dataclass(frozen=True)
class ColorJitter:
    """Saturation, contrast and brightness, then a per-channel gain (colour cast: white balance, sodium light)."""

    p: float = 1.0
    brightness: Range = (-40.0, 25.0)
    contrast: Range = (0.65, 1.15)
    saturation: Range = (0.7, 1.35)
    cast: Range = (0.8, 1.2)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        u = rng.random(6).tolist()
        sat, con, bri = (r[0] + (r[1] - r[0]) * v for r, v in zip((self.saturation, self.contrast, self.brightness), u))
        gains = [self.cast[0] + (self.cast[1] - self.cast[0]) * v for v in u[3:]]
        # one affine colour map: grey + sat * (x - grey), then (x - mean) * con + mean + bri, then * gain; in
        # Python floats, which round as numpy's float64 (the 3x4 matrix costs more in numpy calls than in maths)
        c0, c1, c2, _ = cv2.mean(img)
        mean = (c0 + c1 + c2) / 3  # np.mean's order (a 3-element sum is sequential)
        own, other = sat * 1.0 + (1 - sat) / 3, sat * 0.0 + (1 - sat) / 3  # sat * eye(3) + (1 - sat) / 3
        shift = (1 - con) * mean + bri
        affine = [[con * (own if i == j else other) * g for j in range(3)] + [shift * g] for i, g in enumerate(gains)]
        return cv2.transform(img, np.array(affine, np.float32))


@dataclass(frozen=True)
class Defocus:
    """Gaussian blur of ``sigma`` output pixels."""

    p: float = 0.6
    sigma: Range = (0.3, 1.1)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        return cv2.GaussianBlur(img, (0, 0), _uniform(rng, self.sigma))


@dataclass(frozen=True)
class MotionBlur:
    """Linear motion blur, ``length`` output pixels at a random angle (the paper's motion blurring)."""

    p: float = 0.3
    length: Range = (2.0, 6.0)
    angle: Range = (-180.0, 180.0)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        n, a = _uniform(rng, self.length), np.deg2rad(_uniform(rng, self.angle))
        k = int(np.ceil(n)) | 1
        kernel = np.zeros((k, k), np.float32)
        c, dx, dy = k // 2, np.cos(a) * (n - 1) / 2, np.sin(a) * (n - 1) / 2
        cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
        return cv2.filter2D(img, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


@dataclass(frozen=True)
class LowRes:
    """Downscale by ``scale`` then upscale back: the look of small, upsampled crops (94x24 or less)."""

    p: float = 0.5
    scale: Range = (0.35, 0.85)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        h, w = img.shape[:2]
        s = _uniform(rng, self.scale)
        small = cv2.resize(img, (max(8, round(w * s)), max(4, round(h * s))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """2^20 standard normal values from a fixed seed (drawing 23k normals per image costs ~150 us; a slice 2 us)."""
    return np.random.default_rng(36_2018).standard_normal(1 << 20, dtype=np.float32)


@dataclass(frozen=True)
class GaussianNoise:
    """Additive Gaussian noise of standard deviation ``sigma`` (grey levels), per channel (the paper's noise).

    The normals are a random slice of a fixed bank: independent within an image, and the slice offset (drawn
    from ``rng``) decorrelates images.
    """

    p: float = 0.5
    sigma: Range = (2.0, 9.0)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        bank, n = _noise_bank(), img.size
        start = int(rng.integers(0, len(bank) - n))
        noise = bank[start : start + n].reshape(img.shape) * np.float32(_uniform(rng, self.sigma))
        return np.add(img, noise, out=noise) if img.dtype == noise.dtype else img + noise


@dataclass(frozen=True)
class Jpeg:
    """JPEG compression at a random ``quality``; acts on the final uint8 image."""

    p: float = 0.5
    quality: Range = (20.0, 90.0)

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return img
        quality = round(_uniform(rng, self.quality))
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok, "JPEG encoding failed"
        return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


_QUAD_FIELDS = ("affine", "perspective")
_WINDOW_FIELDS = ("scale", "crop")


@dataclass(frozen=True)
class Degradations:
    """The degradation pipeline, applied in field order (physical order: plate, camera geometry, light, optics,
    sensor, compression). ``None`` disables one. Presets: :meth:`default`, :meth:`paper`, :meth:`none`."""

    affine: Affine | None = Affine()
    perspective: Perspective | None = Perspective()
    scale: ScaleJitter | None = ScaleJitter()
    crop: CropJitter | None = CropJitter()
    dirt: Dirt | None = Dirt()
    light: UnevenLight | None = UnevenLight()
    shadow: Shadow | None = Shadow()
    color: ColorJitter | None = ColorJitter()
    defocus: Defocus | None = Defocus()
    motion_blur: MotionBlur | None = MotionBlur()
    low_res: LowRes | None = LowRes()
    noise: GaussianNoise | None = GaussianNoise()
    jpeg: Jpeg | None = Jpeg()

    @classmethod
    def default(cls) -> Degradations:
        """Everything on, with ranges set by comparing renders with real crops."""
        return cls()

    @classmethod
    def paper(cls) -> Degradations:
        """Only the paper's three: Gaussian noise, motion blur and affine deformation (§IV-C)."""
        return cls(**{f.name: None for f in fields(cls) if f.name not in ("affine", "motion_blur", "noise")})

    @classmethod
    def none(cls) -> Degradations:
        """No degradation: the clean plate fills the output."""
        return cls(**{f.name: None for f in fields(cls)})

    def homography(
        self, plate_w: float, plate_h: float, out_w: int, out_h: int, rng: np.random.Generator
    ) -> np.ndarray:
        """3x3 matrix from plate pixels to output pixels: corners moved by the quad degradations, then the crop
        window (the moved plate's bounding box, jittered) stretched onto the output like a detector crop."""
        corners = [[0.0, 0.0], [float(plate_w), 0.0], [float(plate_w), float(plate_h)], [0.0, float(plate_h)]]
        quad = corners
        for name in _QUAD_FIELDS:
            if (op := getattr(self, name)) is not None:
                quad = op._apply(quad, rng)
        xs, ys = [q[0] for q in quad], [q[1] for q in quad]
        window = [min(xs), min(ys), max(xs), max(ys)]
        for name in _WINDOW_FIELDS:
            if (op := getattr(self, name)) is not None:
                window = op._apply(window, rng)
        x0, y0, x1, y1 = window
        sx, sy = out_w / (x1 - x0), out_h / (y1 - y0)
        dst = [[(x - x0) * sx, (y - y0) * sy] for x, y in quad]
        return cv2.getPerspectiveTransform(np.array(corners, np.float32), np.array(dst, np.float32))

    @functools.cached_property
    def _photometric_ops(self) -> tuple:
        """The photometric degradations before JPEG, in field order (listed once: the instance is frozen)."""
        skip = _QUAD_FIELDS + _WINDOW_FIELDS + ("jpeg",)
        return tuple(op for f in fields(self) if f.name not in skip and (op := getattr(self, f.name)) is not None)

    def photometric(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply the photometric degradations to a float32 image; returns uint8 (JPEG last)."""
        for op in self._photometric_ops:
            img = op(img, rng)
        out = np.clip(img, 0, 255).round().astype(np.uint8) if img.dtype != np.uint8 else img
        return self.jpeg(out, rng) if self.jpeg is not None else out


# A preset name or a typed pipeline whose every degradation is tunable from a recipe or the command line, e.g.
# ``--data.init_args.render '{"degradations": {"low_res": {"p": 0.8}, "jpeg": null}}'`` (unset fields keep their
# defaults).
DegradationsChoice = Degradations | Literal["default", "paper", "none"]
