"""Pictures people would rather look at than read: prediction grids and CTC confidence maps (paper Fig. 2, 11)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from lprzoo.charset import Charset

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def label_font(size: int = 14) -> ImageFont.ImageFont:
    """A font that draws the province characters: the renderer's CJK font if installed, else PIL's default."""
    try:
        from lprzoo.render.fonts import cjk_font_path

        return ImageFont.truetype(str(cjk_font_path()), size)
    except Exception as e:  # the picture still works, with boxes for CJK glyphs
        log.debug("no CJK font for labels (%s); using PIL's default", e)
        return ImageFont.load_default(size)


def to_pil(image: torch.Tensor) -> Image.Image:
    """``(3, H, W)`` float in ``[0, 1]`` or uint8 -> PIL RGB."""
    if image.dtype != torch.uint8:
        image = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(image.permute(1, 2, 0).cpu().numpy())


def prediction_grid(
    images: torch.Tensor,
    preds: Sequence[str],
    labels: Sequence[str] | None = None,
    confidences: Sequence[float] | None = None,
    columns: int = 4,
    scale: int = 2,
) -> Image.Image:
    """Plates with their predicted text underneath: green when it equals the label, red when not, grey unlabelled."""
    n = len(preds)
    h, w = images.shape[-2] * scale, images.shape[-1] * scale
    cell_h, rows = h + 26, (n + columns - 1) // columns
    canvas = Image.new("RGB", (columns * (w + 8) + 8, rows * cell_h + 8), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = label_font(16)
    for i in range(n):
        x, y = 8 + (i % columns) * (w + 8), 8 + (i // columns) * cell_h
        canvas.paste(to_pil(images[i]).resize((w, h), Image.NEAREST), (x, y))
        label = labels[i] if labels else ""
        colour = (120, 120, 120) if not label else ((0, 140, 0) if preds[i] == label else (200, 0, 0))
        text = preds[i] or "∅"
        if confidences is not None:
            text += f" {confidences[i]:.2f}"
        if label and preds[i] != label:
            text += f" ({label})"
        draw.text((x, y + h + 2), text, fill=colour, font=font)
    return canvas


def confidence_map(
    log_probs: torch.Tensor, charset: Charset, image: torch.Tensor | None = None, cell: int = 8
) -> Image.Image:
    """Fig. 2 / Fig. 11: class probabilities (rows) over time steps (columns), green (low) to white (high).

    Rows follow the paper's order, top to bottom: digits, letters, Chinese characters, extra characters, blank.

    Args:
        log_probs: ``(T, K)`` for one plate, or ``(N, T, K)`` averaged over N inputs (e.g. random-noise images,
            paper §IV-E) into one map.
        image: the plate, drawn above the map when given.
    """
    probs = log_probs.detach().float().exp()
    if probs.dim() == 3:
        probs = probs.mean(0)  # (T, K)
    order = [charset.chars.index(c) + 1 for c in charset.chars if c.isdigit()]
    order += [charset.chars.index(c) + 1 for c in charset.chars if c.isascii() and c.isalpha()]
    order += [i + 1 for i, c in enumerate(charset.chars) if not c.isascii()]
    order += [0]
    grid = probs[:, order].T.cpu().numpy()  # (K, T)
    # green (0, 100, 0) -> white (255, 255, 255), as in the paper's figures
    low, high = np.array([0, 100, 0], float), np.array([255, 255, 255], float)
    rgb = (low + grid[..., None] * (high - low)).astype(np.uint8)
    heat = Image.fromarray(rgb).resize((grid.shape[1] * cell, grid.shape[0] * cell // 2), Image.NEAREST)
    if image is None:
        return heat
    plate = to_pil(image).resize((heat.width, heat.width * image.shape[-2] // image.shape[-1]), Image.BILINEAR)
    canvas = Image.new("RGB", (heat.width, plate.height + heat.height + 4), (255, 255, 255))
    canvas.paste(plate, (0, 0))
    canvas.paste(heat, (0, plate.height + 4))
    return canvas
