"""Decoding plate images into ``uint8 (3, 48, 160)`` tensors, with CCPD perspective rectification.

PIL's JPEG ``draft`` mode decodes large scenes at 1/2, 1/4 or 1/8 scale directly in the DCT, which makes
decoding a 560×186 crop or a 720×1160 CCPD scene several times cheaper than a full decode followed by a resize
(measured in ``benchmarks/data_loader.py``).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from lprzoo.batch import IMAGE_HEIGHT, IMAGE_WIDTH
from lprzoo.data.sources import InvalidSampleError, Sample


def _perspective_coeffs(src: tuple[tuple[float, float], ...], dst: list[tuple[float, float]]) -> list[float]:
    """Coefficients for PIL's PERSPECTIVE transform mapping output points ``dst`` to input points ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.asarray(rows, float), np.asarray(rhs, float)).tolist()


def _to_rgb(img: Image.Image) -> Image.Image:
    """Grayscale, RGBA, LA and palette images -> RGB (transparent areas on white)."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        img = background
    return img.convert("RGB")


def pil_to_plate(img: Image.Image, height: int = IMAGE_HEIGHT, width: int = IMAGE_WIDTH) -> torch.Tensor:
    """A PIL image of a plate crop -> ``uint8 (3, height, width)`` RGB, resized as training crops are."""
    img = _to_rgb(img).resize((width, height), Image.BILINEAR, reducing_gap=2.0)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)  # (3, H, W)


def load_plate(sample: Sample, height: int = IMAGE_HEIGHT, width: int = IMAGE_WIDTH) -> torch.Tensor:
    """Decode, convert to RGB (grayscale, RGBA and palette images included), rectify CCPD corners and resize.

    Raises:
        InvalidSampleError: a zero-byte, corrupt or truncated file, named with the reason.
    """
    try:
        with Image.open(sample.path) as img:
            if sample.corners is None and img.format == "JPEG":
                img.draft("RGB", (width, height))  # decode at the smallest DCT scale still >= the target
            img.load()
            img = _to_rgb(img)
            if sample.corners is not None:
                out = [(0, 0), (width * 4, 0), (width * 4, height * 4), (0, height * 4)]
                coeffs = _perspective_coeffs(sample.corners, out)
                img = img.transform((width * 4, height * 4), Image.Transform.PERSPECTIVE, coeffs, Image.BILINEAR)
            return pil_to_plate(img, height, width)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        reason = "empty file: 0 bytes" if "empty" in str(e).lower() else f"corrupt or truncated image: {e}"
        raise InvalidSampleError(sample.path, reason) from None
