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


@dataclass(frozen=True)
class Affine:
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

    def __call__(self, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return quad
        a, sh, st = np.deg2rad(_uniform(rng, self.rotate)), _uniform(rng, self.shear), _uniform(rng, self.stretch)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        m = rot @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.diag([np.sqrt(st), 1 / np.sqrt(st)])
        c = quad.mean(0)
        return (quad - c) @ m.T + c


@dataclass(frozen=True)
class Perspective:
    """Each corner moves independently by up to ``strength`` x (plate width, plate height)."""

    p: float = 0.5
    strength: Range = (0.0, 0.06)

    def __call__(self, quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return quad
        s = _uniform(rng, self.strength)
        size = quad.max(0) - quad.min(0)
        return quad + (rng.random((4, 2)) * 2 - 1) * s * size


@dataclass(frozen=True)
class ScaleJitter:
    """Zoom of the crop window about its centre: ``scale`` > 1 shows more surroundings, < 1 cuts the plate."""

    p: float = 0.5
    scale: Range = (0.94, 1.08)

    def __call__(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return window
        s = _uniform(rng, self.scale)
        c, half = (window[:2] + window[2:]) / 2, (window[2:] - window[:2]) / 2 * s
        return np.concatenate([c - half, c + half])


@dataclass(frozen=True)
class CropJitter:
    """Each side of the crop window moves out (positive) or in (negative, a partial border like a detector's
    tight box) by a fraction of the window's width (``x``) or height (``y``)."""

    p: float = 1.0
    x: Range = (-0.03, 0.04)
    y: Range = (-0.06, 0.10)

    def __call__(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not _fires(rng, self.p):
            return window
        u = rng.random(4)
        w, h = window[2:] - window[:2]
        dx = self.x[0] + (self.x[1] - self.x[0]) * u[[0, 2]]
        dy = self.y[0] + (self.y[1] - self.y[0]) * u[[1, 3]]
        return window + np.array([-dx[0] * w, -dy[0] * h, dx[1] * w, dy[1] * h])


# --- photometric: float32 (H, W, 3) in [0, 255] -> same ----------------------------------------------------------


def _gain(img: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``img * gain[..., None]`` without numpy's slow broadcast over a length-3 last axis."""
    return img * cv2.merge((gain, gain, gain))


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates scaled so the image's height is 1 (keeps gradients isotropic)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / h
    return xx, yy


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
        xx, yy = _grid(*img.shape[:2])
        t, s = 2 * np.pi * rng.random(), _uniform(rng, self.strength)
        g = np.cos(t) * xx + np.sin(t) * yy
        g = (g - g.min()) / max(float(np.ptp(g)), 1e-6)
        return _gain(img, (1 - s + 2 * s * g).astype(np.float32))


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
        xx, yy = _grid(h, w)
        t, s, soft = 2 * np.pi * rng.random(), _uniform(rng, self.strength), _uniform(rng, self.softness)
        cx, cy = rng.random() * w / h, rng.random()
        d = (np.cos(t) * (xx - cx) + np.sin(t) * (yy - cy)) / soft
        return _gain(img, (1 - s * np.clip(d + 0.5, 0, 1)).astype(np.float32))


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
        u = rng.random(6)
        sat, con, bri = (r[0] + (r[1] - r[0]) * v for r, v in zip((self.saturation, self.contrast, self.brightness), u))
        gain = self.cast[0] + (self.cast[1] - self.cast[0]) * u[3:]
        # one affine colour map: grey + sat * (x - grey), then (x - mean) * con + mean + bri, then * gain
        m = sat * np.eye(3) + (1 - sat) / 3
        mean = float(np.mean(cv2.mean(img)[:3]))
        affine = np.concatenate([con * m, np.full((3, 1), (1 - con) * mean + bri)], 1) * gain[:, None]
        return cv2.transform(img, affine.astype(np.float32))


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
        return img + bank[start : start + n].reshape(img.shape) * np.float32(_uniform(rng, self.sigma))


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
        corners = np.array([[0, 0], [plate_w, 0], [plate_w, plate_h], [0, plate_h]], np.float64)
        quad = corners
        for name in _QUAD_FIELDS:
            if (op := getattr(self, name)) is not None:
                quad = op(quad, rng)
        window = np.concatenate([quad.min(0), quad.max(0)])
        for name in _WINDOW_FIELDS:
            if (op := getattr(self, name)) is not None:
                window = op(window, rng)
        scale = np.array([out_w, out_h]) / (window[2:] - window[:2])
        dst = (quad - window[:2]) * scale
        return cv2.getPerspectiveTransform(corners.astype(np.float32), dst.astype(np.float32))

    def photometric(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Apply the photometric degradations to a float32 image; returns uint8 (JPEG last)."""
        for f in fields(self):
            op = getattr(self, f.name)
            if op is not None and f.name not in _QUAD_FIELDS + _WINDOW_FIELDS + ("jpeg",):
                img = op(img, rng)
        out = np.clip(img, 0, 255).round().astype(np.uint8) if img.dtype != np.uint8 else img
        return self.jpeg(out, rng) if self.jpeg is not None else out


# A preset name or a typed pipeline whose every degradation is tunable from a recipe or the command line, e.g.
# ``--data.init_args.degradations '{"low_res": {"p": 0.8}, "jpeg": null}'`` (unset fields keep their defaults).
DegradationsChoice = Degradations | Literal["default", "paper", "none"]
