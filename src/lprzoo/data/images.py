"""Decoding plate images into ``uint8 (3, 48, 160)`` tensors, with CCPD perspective rectification.

PIL's JPEG ``draft`` mode decodes large scenes at 1/2, 1/4 or 1/8 scale directly in the DCT, which makes
decoding a 560×186 crop or a 720×1160 CCPD scene several times cheaper than a full decode followed by a resize
(measured in ``benchmarks/data_loader.py``).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from lprzoo.batch import INPUT
from lprzoo.data.sources import InvalidSampleError, Sample
from lprzoo.folders import printable
from lprzoo.layout import to_input

log = logging.getLogger(__name__)


def _perspective_coeffs(src: tuple[tuple[float, float], ...], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for PIL's PERSPECTIVE transform mapping output points ``dst`` to input points ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.asarray(rows, float), np.asarray(rhs, float)).tolist()


TOO_SMALL = (16, 8)  # width, height in pixels under which an image cannot show a readable plate


def _wide_range_to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer or float images -> 8-bit grayscale by their real range (min..max of the finite
    values), as a viewer shows them; PIL's own ``convert`` clips 16-bit to white and floats to black."""
    values = np.asarray(img, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    scaled = np.zeros_like(values) if high <= low else (np.nan_to_num(values, nan=low) - low) / (high - low) * 255
    return Image.fromarray(np.clip(scaled, 0, 255).round().astype(np.uint8), mode="L")


def _to_rgb(img: Image.Image) -> Image.Image:
    """Grayscale, RGBA, LA, palette, 16-bit and float images -> RGB (transparent areas on white)."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _wide_range_to_8bit(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    return img.convert("RGB")


def pil_to_plate(
    img: Image.Image,
    height: int = INPUT.height,
    width: int = INPUT.width,
    rows: str = "single",
    layout: str = INPUT.layout,
) -> torch.Tensor:
    """A PIL image of a plate crop -> ``uint8 (3, height, width)`` RGB, resized as training crops are; a
    ``"double"``-row plate with its rows side by side under the contract's ``layout`` (:mod:`lprzoo.layout`)."""
    if rows == "double":
        plate = to_input(np.asarray(_to_rgb(img), dtype=np.uint8), height, width, rows, layout)
    else:
        plate = np.asarray(_to_rgb(img).resize((width, height), Image.BILINEAR, reducing_gap=2.0), dtype=np.uint8)
    return torch.from_numpy(plate.copy()).permute(2, 0, 1)  # (3, H, W)


def upright_size(path: str) -> tuple[int, int]:
    """``(width, height)`` of an image file as a viewer shows it (EXIF orientations 5-8 swap them), from its header."""
    with Image.open(path) as img:
        w, h = img.size
        swap = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    return (h, w) if swap else (w, h)


def load_plate(
    sample: Sample,
    height: int = INPUT.height,
    width: int = INPUT.width,
    rows: str = "single",
    layout: str = INPUT.layout,
) -> torch.Tensor:
    """Decode, turn upright by the EXIF orientation, convert to RGB (grayscale, RGBA, palette, 16-bit and float
    images included), rectify CCPD corners and resize (a ``"double"``-row plate: its rows side by side); warn when
    the image is far too small to show a plate.

    Raises:
        InvalidSampleError: a zero-byte, corrupt or truncated file, named with the reason.
    """
    try:
        with Image.open(sample.path) as img:
            if sample.corners is None and img.format == "JPEG":
                img.draft("RGB", (width, height * (2 if rows == "double" else 1)))  # the smallest DCT scale >= it
            img.load()
            if sample.corners is None:  # as a viewer shows it: phone photos store rotation in EXIF (CCPD has none)
                img = ImageOps.exif_transpose(img)
            if img.width < TOO_SMALL[0] or img.height < TOO_SMALL[1]:
                log.warning("%s: %d x %d pixels is far too small to show a plate; read anyway",
                            printable(sample.path), img.width, img.height)  # fmt: skip
            img = _to_rgb(img)
            if sample.corners is not None:
                if any(x > img.width or y > img.height for x, y in sample.corners):  # the crop would be black
                    raise ValueError(f"CCPD corners {sample.corners} lie outside the {img.width} x {img.height} image")
                out = [(0, 0), (width * 4, 0), (width * 4, height * 4), (0, height * 4)]
                coeffs = _perspective_coeffs(sample.corners, out)
                img = img.transform((width * 4, height * 4), Image.Transform.PERSPECTIVE, coeffs, Image.BILINEAR)
            return pil_to_plate(img, height, width, rows, layout)
    except Image.DecompressionBombError as e:  # PIL's guard against images that would exhaust memory
        raise InvalidSampleError(sample.path, f"too large to be a plate crop: {e}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        reason = "empty file: 0 bytes" if "empty" in str(e).lower() else f"corrupt or truncated image: {e}"
        raise InvalidSampleError(sample.path, str(e) if "CCPD corners" in str(e) else reason) from None
