"""Pictures people would rather look at than read: prediction grids and CTC confidence maps (paper Fig. 2, 11)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

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


def confidence_report(confidence: Sequence[float], correct: Sequence[bool], title: str, out: Path) -> dict[str, Any]:
    """RA and :func:`~lprzoo.calibration.confidence_figures` of one labelled set, and two pictures in ``out``: a
    reliability diagram (``reliability_<title>.png``) and a risk-coverage curve (``risk_coverage_<title>.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lprzoo.calibration import confidence_figures, reliability, risk_coverage

    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        "plates": len(confidence),
        "RA": round(float(np.mean(correct)), 4) if len(correct) else 0.0,
        **confidence_figures(confidence, correct),
    }
    slug = title.replace("/", "-").replace(" ", "_")
    plt.rcParams["axes.titlesize"] = 10
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    bins = reliability(confidence, correct)
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.bar([c for c, _, _ in bins], [a for _, a, _ in bins], width=0.08, alpha=0.7, label="accuracy per bin")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy", title=f"{title}\nECE {figures['ECE']:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / f"reliability_{slug}.png")
    plt.close(fig)
    curve = risk_coverage(confidence, correct)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    ax.plot([c for _, _, c in curve], [1 - p for _, p, _ in curve], lw=1.5)
    ax.set(xlabel="coverage (share of plates accepted)", ylabel="risk (share of accepted readings wrong)",
           xlim=(0, 1), ylim=(0, max(0.05, 1.05 * max((1 - p for _, p, _ in curve), default=0))),
           title=f"{title}\ncoverage {100 * figures['coverage@99']:.0f} % at 99 % precision")  # fmt: skip
    fig.tight_layout()
    fig.savefig(out / f"risk_coverage_{slug}.png")
    plt.close(fig)
    return figures
