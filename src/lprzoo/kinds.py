"""A plate's kind: its colour and its number of character rows (GA 36-2018 plate types).

The recognizer's kind head (:meth:`lprzoo.recognize.crnn.CRNN.attach_kind_head`) predicts one of :data:`COLOURS` and
one of :data:`ROWS`; each :class:`~lprzoo.render.specs.PlateSpec` declares both, so a rendered plate's kind is exact.
A labelled photo's kind is not written down anywhere, so :func:`kind_of_label` derives what its label decides (an
8-character label is green, ``警`` is white, ``港``/``澳``/``使``/``领`` are black, ``学``/``挂`` are yellow) and
:func:`colour_by_hue` the rest from the saturated pixels' hue.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

COLOURS = ("blue", "yellow", "green", "white", "black")
ROWS = ("single", "double")
UNKNOWN = -1  # a class index the kind loss ignores

HUE_RANGES = {"blue": (130, 185), "yellow": (20, 50), "green": (60, 120)}  # PIL's HSV hue, 0-255 for 0-360 degrees
LABEL_COLOURS = {"警": "white", "应": "white", "港": "black", "澳": "black", "使": "black", "领": "black",
                 "学": "yellow", "挂": "yellow"}  # fmt: skip


class PlateKind(NamedTuple):
    """A plate's colour (one of :data:`COLOURS`) and rows (one of :data:`ROWS`)."""

    colour: str
    rows: str = "single"

    def __str__(self) -> str:
        return self.colour if self.rows == "single" else f"{self.colour}-{self.rows}"

    def indices(self) -> tuple[int, int]:
        """``(colour index, rows index)`` for the kind head, :data:`UNKNOWN` for a colour it does not know."""
        colour = COLOURS.index(self.colour) if self.colour in COLOURS else UNKNOWN
        return colour, ROWS.index(self.rows)


def predicted_kind(kind_logits) -> tuple[PlateKind | None, float | None]:
    """A kind head's ``(colours + rows,)`` logits (a tensor) -> its most probable kind and that kind's probability
    (``None, None`` for a model without a kind head)."""
    if kind_logits.numel() == 0:
        return None, None
    colour_p = kind_logits[: len(COLOURS)].softmax(0)
    rows_p = kind_logits[len(COLOURS) :].softmax(0)
    c, r = int(colour_p.argmax()), int(rows_p.argmax())
    return PlateKind(COLOURS[c], ROWS[r]), float(colour_p[c] * rows_p[r])


def colour_by_hue(image: np.ndarray, min_share: float = 0.5) -> str | None:
    """``uint8 (H, W, 3)`` RGB -> a plate colour from its look, or ``None`` when it does not say.

    First the polarity: blue and black plates carry light characters on a dark ground, yellow, green and white
    plates dark characters on a light ground, so most of a plate is darker (or lighter) than the middle of its
    central region's range.  Then the hue of the saturated pixels picks the colour within the group: a dark ground
    is blue when saturated enough (a night shot's colour cast does not make it yellow), else black; a light ground
    is yellow or green by hue (or blue: an over-exposed blue plate's white characters fill it), white when
    unsaturated.
    """
    from PIL import Image

    h, w = image.shape[:2]
    centre = np.ascontiguousarray(image[h // 5 : h - h // 5, w // 10 : w - w // 10])
    hsv = np.asarray(Image.fromarray(centre).convert("HSV")).reshape(-1, 3).astype(int)
    grey = np.asarray(Image.fromarray(centre).convert("L"), dtype=np.float32)  # HSV's value cannot tell blue from white
    luma = grey.reshape(-1)
    low, high = np.percentile(luma, 5), np.percentile(luma, 95)
    saturated = hsv[(hsv[:, 1] > 60) & (hsv[:, 2] > 50), 0]
    shares = {n: float(((saturated >= lo) & (saturated <= hi)).mean()) if len(saturated) else 0.0
              for n, (lo, hi) in HUE_RANGES.items()}  # fmt: skip
    name, share = max(shares.items(), key=lambda kv: kv[1])
    if high - low < 20:  # no characters to be seen: a flat patch of colour, by its hue alone
        return name if len(saturated) > len(hsv) // 2 and share > min_share else None
    if np.abs(np.diff(grey, axis=1)).mean() > 0.65 * luma.std():  # noise, not a plate (crops: <= 0.56)
        return None
    if (luma > (low + high) / 2).mean() < 0.5:  # a dark ground
        return "blue" if len(saturated) > len(hsv) // 8 else "black"
    if len(saturated) < len(hsv) // 8:
        return "white"
    return name if share > min_share else None  # blue here: an over-exposed blue plate


def kind_of_label(text: str) -> str | None:
    """The colour a label decides on its own (8 characters: green new-energy; special characters), else ``None``."""
    special = next((LABEL_COLOURS[c] for c in text if c in LABEL_COLOURS), None)
    if special is not None:
        return special
    return "green" if len(text) == 8 else None


def colour_of(text: str, image: np.ndarray) -> str | None:
    """A labelled photo's colour: what its label decides, else its hue (``None``: unknown)."""
    return kind_of_label(text) or colour_by_hue(image)
