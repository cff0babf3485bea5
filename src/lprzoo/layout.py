"""How a plate becomes the recognizer's input: one row as it is, two rows side by side (the input contract's
``layout``, :class:`lprzoo.batch.InputContract`).

A CTC recognizer reads columns left to right, while a double-row plate's label reads the top row, then the bottom
row.  :func:`side_by_side` finds the gap between the rows (:func:`row_boundary`: in the profile of horizontal
gradients, the row between 15 % and 55 % of the height that is quietest against the text on both sides of it, not a
fixed fraction) and places the top row left of the bottom row, each scaled to the input height.  The renderer, the
data loaders and the reader all call it.

The top row holds two characters spread over the plate's width, so scaled whole into its share of the input they
come out ~3.5 times narrower than they are tall (GA 36's province glyph is wider than tall).  Under the
``"rows-tight"`` layout the top row is first trimmed to the columns its text covers (:func:`text_columns`, from the
plate's own vertical strokes), which gives the province glyph about 1.6 times the width; ``"rows"`` scales it whole
(the layout of readers trained before).

A tilted plate has tilted rows, and no horizontal cut separates them: the cut runs through a glyph of one row or
takes a strip of the other.  Under ``"rows-level"`` (new models' default) the crop is first turned by the angle
that levels its rows (:func:`level_angle`: of -8 to 8 degrees, the one whose quietest gap stands out most against
the text beside it), then split and trimmed as under ``"rows-tight"``.  On 800 renders of the two double-row
kinds (seeds other than render-types') the published every-plate network, unchanged, read 98.6 % of them under it
against 96.5 % under ``"rows-tight"`` (docs/plates.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

LAYOUTS = ("single", "rows", "rows-tight", "rows-level")  # the contract's layouts; the last: new models' default
TOP_SHARE = 3 / 7  # the top row (2 large characters) gets 3/7 of the width, the bottom row (5) the rest
SEARCH = (0.15, 0.55)  # where the gap between the rows lies, as a share of the height (GA 36: ~0.37)
BAND = 0.2  # the text rows looked at on each side of a candidate gap, as a share of the height
TEXT_LEVEL = 0.25  # a column holds text where its smoothed stroke energy is at least this share of the peak
TEXT_MARGIN = 0.08  # kept on each side of the text found, as a share of the width (blur and a loose estimate)
MIN_TEXT = 0.4  # the trimmed top row is never narrower than this share of the plate's width
LEVEL_ANGLES = np.arange(-8.0, 9.0, 1.0)  # the turns (degrees) tried to level a double-row plate's rows


def _gap(gray: np.ndarray) -> tuple[int, float]:
    """Of a ``float32 (64, 128)`` grey plate, the row of the gap between its text rows and how far that gap stands
    out: the weaker side's peak of horizontal-gradient energy minus the gap's own."""
    profile = np.abs(np.diff(gray, axis=1)).mean(1)  # (64,): text has strong horizontal gradients, the gap none
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")
    lo, hi, band = round(SEARCH[0] * 64), round(SEARCH[1] * 64), round(BAND * 64)
    windows = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.full(band, -np.inf), profile]), band)
    above = windows[lo:hi].max(1)  # (hi - lo,): the peak of the band above each candidate row b, rows [b - band, b)
    below = windows[lo + band + 1 : hi + band + 1].max(1)  # rows [b + 1, b + 1 + band)
    contrast = np.minimum(above, below) - profile[lo:hi]
    best = int(np.argmax(contrast))
    return best + lo, float(contrast[best])


def row_boundary(image: np.ndarray) -> int:
    """The row (pixels from the top) between a double-row plate's two character rows.

    Args:
        image: ``uint8 (H, W, 3)`` RGB crop of the plate.
    """
    h = image.shape[0]
    gray = np.asarray(Image.fromarray(image).convert("L").resize((128, 64), Image.BILINEAR), np.float32)
    return max(1, min(h - 1, round((_gap(gray)[0] + 0.5) * h / 64)))


def level_angle(image: np.ndarray) -> float:
    """The turn (degrees, counter-clockwise) of :data:`LEVEL_ANGLES` that levels a double-row plate's rows: the one
    after which the gap between them stands out most (:func:`row_boundary`'s measure).

    Args:
        image: ``uint8 (H, W, 3)`` RGB crop of the plate.
    """
    gray = Image.fromarray(image).convert("L").resize((128, 64), Image.BILINEAR)
    fill = int(np.median(np.asarray(gray)))
    contrast = [_gap(np.asarray(gray.rotate(a, Image.BILINEAR, fillcolor=fill), np.float32))[1] for a in LEVEL_ANGLES]
    return float(LEVEL_ANGLES[int(np.argmax(contrast))])


def levelled(image: np.ndarray) -> np.ndarray:
    """A double-row plate ``uint8 (h, w, 3)`` turned by :func:`level_angle` (corners filled with its median colour)."""
    angle = level_angle(image)
    if angle == 0:
        return image
    fill = tuple(int(v) for v in np.median(image.reshape(-1, 3), axis=0))
    return np.asarray(Image.fromarray(image).rotate(angle, Image.BILINEAR, fillcolor=fill))


def text_columns(row: np.ndarray) -> tuple[int, int]:
    """The columns ``[x0, x1)`` of a plate row ``uint8 (h, w, 3)`` that its text covers, with a margin.

    Text is where vertical strokes are dense: the profile of horizontal gradients over the row's middle, smoothed
    over about a glyph's width so that a lone plate edge or rivet stays below :data:`TEXT_LEVEL` of the peak.
    """
    h, w = row.shape[:2]
    gray = np.asarray(Image.fromarray(row).convert("L").resize((96, 24), Image.BILINEAR), np.float32)
    energy = np.abs(np.diff(gray, axis=1))[5:19].mean(0)  # (95,): the middle rows, clear of the plate's frame
    smooth = np.convolve(energy, np.ones(9) / 9, mode="same")
    on = np.flatnonzero(smooth >= TEXT_LEVEL * smooth.max()) if smooth.max() > 0 else np.array([0, 94])
    centre, half = (on[0] + on[-1] + 1) / 2 / 95, (on[-1] + 1 - on[0]) / 2 / 95 + TEXT_MARGIN
    half = max(half, MIN_TEXT / 2)
    return max(0, round((centre - half) * w)), min(w, max(1, round((centre + half) * w)))


def side_by_side(
    image: np.ndarray, height: int, width: int, top_share: float = TOP_SHARE, tight: bool = False, level: bool = False
) -> np.ndarray:
    """A double-row plate ``uint8 (h, w, 3)`` -> ``uint8 (height, width, 3)``: top row left, bottom row right; with
    ``level``, the plate turned to level its rows first (:func:`levelled`); with ``tight``, the top row trimmed to its
    text (:func:`text_columns`)."""
    if level:
        image = levelled(image)
    b = row_boundary(image)
    top_w = max(1, round(width * top_share))
    top_row = image[:b]
    if tight:
        x0, x1 = text_columns(top_row)
        top_row = top_row[:, x0:x1]
    top = Image.fromarray(np.ascontiguousarray(top_row)).resize((top_w, height), Image.BILINEAR, reducing_gap=2.0)
    bottom = Image.fromarray(image[b:]).resize((width - top_w, height), Image.BILINEAR, reducing_gap=2.0)
    return np.concatenate([np.asarray(top), np.asarray(bottom)], axis=1)


def splits_rows(layout: str) -> bool:
    """Whether ``layout`` places a double-row plate's rows side by side (``"rows"``, ``"rows-tight"``)."""
    return layout != "single"


def to_input(image: np.ndarray, height: int, width: int, rows: str = "single", layout: str = LAYOUTS[-1]) -> np.ndarray:
    """A plate crop ``uint8 (h, w, 3)`` -> the recognizer's ``uint8 (height, width, 3)`` for a plate of ``rows``, under
    the contract's ``layout``."""
    if rows == "double":
        return side_by_side(
            image, height, width, tight=layout in ("rows-tight", "rows-level"), level=layout == "rows-level"
        )
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR, reducing_gap=2.0))
