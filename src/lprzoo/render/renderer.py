"""The synthetic plate renderer (paper §IV-C: computer-graphics scripts drawing labelled plates "following the
fonts, colors and composition rules", then degraded).

Per spec, the plate background (colour or gradient, frame line, rivets, separator dot) is drawn once, and each
glyph is rasterised once per cell and blended (coverage and emboss shading) into that cell's background; both are
cached, so a plate costs seven small copies, one perspective warp to the output size and the photometric
degradations. The internal resolution is ``oversample`` x the output height (2x by default), not millimetres.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw

from lprzoo.batch import INPUT
from lprzoo.layout import splits_rows, to_input
from lprzoo.render.degrade import Degradations
from lprzoo.render.fonts import DEFAULT_CJK_FONT, DEFAULT_LATIN_FONTS, FontSource, GlyphJitter, get_font, glyph_mask
from lprzoo.render.rules import grammar, province_probabilities
from lprzoo.render.specs import PlateSpec, get_spec

log = logging.getLogger(__name__)

_SUPERSAMPLE = 4  # the static background is drawn this much larger, then shrunk (anti-aliased edges)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def resolve_degradations(degradations: Degradations | str | None) -> Degradations:
    """``Degradations`` as given, or a preset by name: ``"default"``, ``"paper"``, ``"none"`` (``None`` = none)."""
    if isinstance(degradations, Degradations):
        return degradations
    presets = {"default": Degradations.default, "paper": Degradations.paper, "none": Degradations.none}
    key = "none" if degradations is None else degradations
    if key not in presets:
        raise ValueError(f"unknown degradations preset {degradations!r}; use one of {sorted(presets)}")
    return presets[key]()


def _font_list(fonts: str | FontSource | Sequence[str | FontSource], name: str) -> list[FontSource]:
    """One font or several as located :class:`FontSource` s: a missing font fails here, naming its install command,
    not later in a loader worker."""
    fonts = [fonts] if isinstance(fonts, str | FontSource) else list(fonts)
    if not fonts:
        raise ValueError(f"{name}: give at least one font")
    sources = [get_font(f) for f in fonts]
    for font in sources:
        font.locate()
    return sources


class PlateRenderer:
    """Draws labelled plates of one spec at ``height`` x ``width`` pixels (paper §IV-C).

    Args:
        spec: plate spec name (``"blue"``, ``"yellow"``, ``"green"``, ``"yellow-double"``, ``"police"``) or a
            :class:`~lprzoo.render.specs.PlateSpec`.
        degradations: a :class:`~lprzoo.render.degrade.Degradations` or a preset name (``"default"``,
            ``"paper"``, ``"none"``).
        height: output height (pixels).
        width: output width (pixels).
        province_weights: relative province frequencies for :meth:`sample` (``None``: uniform).
        oversample: internal plate height / output height.
        cjk_fonts: font name(s) for Chinese characters (see :mod:`lprzoo.render.fonts`); with several, each plate
            draws its province glyph in one of them, chosen uniformly (e.g.
            :data:`~lprzoo.render.fonts.CJK_WEIGHT_MIX`, Noto Sans CJK from Regular to Black).
        latin_fonts: font name(s) for letters and digits; with several, each plate is drawn in one of them, chosen
            uniformly (the default mixes six narrow faces, see :data:`~lprzoo.render.fonts.DEFAULT_LATIN_FONTS`).
        cjk_jitter: per-plate stroke and size variation of the province glyph
            (:class:`~lprzoo.render.fonts.GlyphJitter`); ``None`` draws the face as it is.
        layout: the input contract's layout (:mod:`lprzoo.layout`): with ``"rows"`` or ``"rows-tight"``, a
            double-row plate is drawn as a crop of its own shape (``2 * height`` high) and its rows are placed side
            by side, as the reader places a photo's; with ``"single"`` it is squeezed into ``height`` x ``width``
            whole.

    Example:
        >>> r = PlateRenderer("blue")
        >>> image, text = r.sample(np.random.default_rng(0))  # (48, 160, 3) uint8, e.g. "皖A12345"
    """

    def __init__(
        self,
        spec: str | PlateSpec = "blue",
        degradations: Degradations | str | None = "default",
        height: int = INPUT.height,
        width: int = INPUT.width,
        province_weights: Mapping[str, float] | None = None,
        oversample: float = 2.0,
        cjk_fonts: str | FontSource | Sequence[str | FontSource] = DEFAULT_CJK_FONT,
        latin_fonts: str | FontSource | Sequence[str | FontSource] = DEFAULT_LATIN_FONTS,
        cjk_jitter: GlyphJitter | None = None,
        layout: str = INPUT.layout,
    ) -> None:
        self.spec = get_spec(spec)
        self.layout = layout
        self.degradations = resolve_degradations(degradations)
        self.height, self.width = height, width
        self.grammar = grammar(self.spec)
        p = province_probabilities(province_weights)
        self._province_cdf = None if p is None else np.cumsum(p).tolist()
        self.latin_fonts = _font_list(latin_fonts, "latin_fonts")
        self.cjk_fonts = _font_list(cjk_fonts, "cjk_fonts")
        self._cjk_variants = cjk_jitter.variants if cjk_jitter is not None else [(0, 1.0, 1.0)]
        # a double-row plate is drawn as a photo twice the input height (its rows are placed side by side later)
        self._split = splits_rows(layout) and self.spec.kind.rows == "double"
        self.px_per_mm = oversample * height * (2 if self._split else 1) / self.spec.size_mm[1]
        self.plate_w = round(self.spec.size_mm[0] * self.px_per_mm)
        self.plate_h = round(self.spec.size_mm[1] * self.px_per_mm)
        self._cells = [self._px_box(c) for c in self.spec.cells()]
        self._colors = [dict(self.spec.char_colors).get(i, self.spec.text_color) for i in range(len(self._cells))]
        self._base = self._draw_base()
        # Disjoint cells blend independently, so each drawn cell (its background region with a glyph blended in)
        # is cached whole; cells over identical background pixels share entries.
        self._disjoint = not any(_overlap(a, b) for k, a in enumerate(self._cells) for b in self._cells[k + 1 :])
        regions = [self._base[y0:y1, x0:x1] for x0, y0, x1, y1 in self._cells]
        self._region_ids = [next(j for j, r in enumerate(regions) if np.array_equal(r, region)) for region in regions]
        self._cells_drawn: dict[tuple, np.ndarray] = {}

    def _px_box(self, cell: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        x, y, w, h = (v * self.px_per_mm for v in cell)
        return round(x), round(y), round(x + w), round(y + h)

    def _draw_base(self) -> np.ndarray:
        """The plate without characters: background, frame line, rivets and separator dot (float32 RGB)."""
        s, spec = self.px_per_mm * _SUPERSAMPLE, self.spec
        w, h = self.plate_w * _SUPERSAMPLE, self.plate_h * _SUPERSAMPLE
        top = np.array(spec.background[0], np.float32)
        bottom = np.array(spec.background[-1], np.float32)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img = Image.fromarray(np.broadcast_to(top + (bottom - top) * t, (h, w, 3)).round().astype(np.uint8))
        draw = ImageDraw.Draw(img)
        if spec.border_color is not None and spec.border_width > 0:
            i = spec.border_inset * s
            draw.rounded_rectangle(
                (i, i, w - i, h - i),
                radius=spec.corner_radius * s,
                outline=spec.border_color,
                width=max(1, round(spec.border_width * s)),
            )
        for x, y in spec.rivets:
            r = spec.rivet_diameter / 2 * s
            draw.ellipse(
                (x * s - r, y * s - r, x * s + r, y * s + r),
                fill=(150, 150, 150),
                outline=(90, 90, 90),
                width=round(r / 4),
            )
            draw.ellipse((x * s - r / 3, y * s - r / 3, x * s + r / 3, y * s + r / 3), fill=(70, 70, 70))
        if (dot := spec.dot_center()) is not None:
            r = spec.dot_diameter / 2 * s
            draw.ellipse((dot[0] * s - r, dot[1] * s - r, dot[0] * s + r, dot[1] * s + r), fill=spec.text_color)
        img = img.resize((self.plate_w, self.plate_h), Image.Resampling.BOX)
        return np.asarray(img, dtype=np.float32)

    def _glyph_patch(
        self, pos: int, char: str, font: int, cjk_font: int = 0, cjk_variant: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Blend patch of ``char`` in cell ``pos``: ``out = region * mult + add`` (coverage plus emboss shade)."""
        x0, y0, x1, y1 = self._cells[pos]
        if char.isascii():
            a = glyph_mask(char, self.latin_fonts[font], x1 - x0, y1 - y0)
        else:
            a = glyph_mask(char, self.cjk_fonts[cjk_font], x1 - x0, y1 - y0, self._cjk_variants[cjk_variant])
        shade = np.zeros_like(a)
        shade[1:, 1:] = a[:-1, :-1]  # the raised glyph's shadow falls one pixel down-right
        shade = self.spec.emboss * np.clip(shade - a, 0, 1)
        mult = np.repeat(((1 - a) * (1 - shade))[..., None], 3, axis=2)
        add = a[..., None] * np.array(self._colors[pos], np.float32)
        return np.ascontiguousarray(mult, np.float32), np.ascontiguousarray(add, np.float32)

    @staticmethod
    def _blend(region: np.ndarray, patch: tuple[np.ndarray, np.ndarray]) -> None:
        """``region = region * mult + add``, in place (numpy's 3-channel broadcast is 4x slower than cv2's)."""
        mult, add = patch
        cv2.add(cv2.multiply(region, mult, dst=region), add, dst=region)

    def _cell(self, pos: int, char: str, font: int, cjk_font: int, cjk_variant: int = 0) -> np.ndarray:
        """Cell ``pos`` of the background with ``char`` blended in: computed once, then cached."""
        face = font if char.isascii() else (-1 - cjk_font, cjk_variant)
        key = (char, face, self._region_ids[pos], self._colors[pos])
        cell = self._cells_drawn.get(key)
        if cell is None:
            x0, y0, x1, y1 = self._cells[pos]
            cell = self._base[y0:y1, x0:x1].copy()
            self._blend(cell, self._glyph_patch(pos, char, font, cjk_font, cjk_variant))
            self._cells_drawn[key] = cell
        return cell

    def compose(self, text: str, font: int = 0, cjk_font: int = 0, cjk_variant: int = 0) -> np.ndarray:
        """The clean plate for ``text`` in latin font ``font``, CJK font ``cjk_font`` and province-glyph variant
        ``cjk_variant`` (numbers in the renderer's lists): float32 (plate_h, plate_w, 3) in [0, 255]."""
        if len(text) != len(self._cells):
            raise ValueError(f"spec {self.spec.name!r} draws {len(self._cells)} characters, got {text!r}")
        img = self._base.copy()
        for pos, char in enumerate(text):
            x0, y0, x1, y1 = self._cells[pos]
            if self._disjoint:
                img[y0:y1, x0:x1] = self._cell(pos, char, font, cjk_font, cjk_variant)
            else:  # overlapping cells: each blends over what the previous ones drew
                self._blend(img[y0:y1, x0:x1], self._glyph_patch(pos, char, font, cjk_font, cjk_variant))
        return img

    def render(self, text: str, rng: np.random.Generator) -> np.ndarray:
        """Draw ``text`` and degrade it: uint8 (height, width, 3) RGB. The same ``rng`` state gives the same bytes.

        Args:
            text: the label; must have the spec's number of characters (its grammar is not enforced here, so
                real labels can be re-rendered).
            rng: random source for the degradations.
        """
        # a single font draws nothing, so single-font renders stay those of earlier versions
        font = int(rng.integers(len(self.latin_fonts))) if len(self.latin_fonts) > 1 else 0
        cjk_font = int(rng.integers(len(self.cjk_fonts))) if len(self.cjk_fonts) > 1 else 0
        variants = len(self._cjk_variants)
        cjk_variant = int(rng.integers(variants)) if variants > 1 else 0
        plate = self.compose(text, font, cjk_font, cjk_variant)
        out_h, out_w = self.height, self.width
        if self._split:  # a crop of the plate's own shape, as a camera sees it; its rows go side by side below
            out_h = 2 * self.height
            out_w = round(out_h * self.spec.size_mm[0] / self.spec.size_mm[1])
        m = self.degradations.homography(self.plate_w, self.plate_h, out_w, out_h, rng)
        u = rng.random(4)
        background = (10 + 180 * u[0] ** 1.5) * (0.85 + 0.3 * u[1:])  # the scene around a loose crop, mostly dark
        img = cv2.warpPerspective(
            plate,
            m,
            (out_w, out_h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=tuple(float(v) for v in background),
        )
        img = self.degradations.photometric(img, rng)
        return to_input(img, self.height, self.width, "double", self.layout) if self._split else img

    def sample_text(self, rng: np.random.Generator) -> str:
        """A random valid label for this spec (see :func:`lprzoo.render.rules.sample_plate_text`)."""
        return self.grammar.sample(rng, self._province_cdf)

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """A random valid label and its degraded image: ``(uint8 (height, width, 3), text)``."""
        text = self.sample_text(rng)
        return self.render(text, rng), text
