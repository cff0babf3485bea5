"""Glyph fonts, located at run time in installed packages (no font file lives in this repository).

Chinese glyphs (31 provinces and 警) come from Noto Sans CJK Bold, installed from PyPI as
``noto-cjk-sans-jp-bold``: the OpenType file holds every CJK region's glyphs and the simplified-Chinese forms
are selected with the ``zh-Hans`` language tag (``locl`` feature, needs Pillow's raqm layout, bundled with the
PyPI wheels). Alphanumerics are drawn in a mix of narrow sans faces from PyPI (``fontpkg-*``), one per plate:
Barlow Condensed SemiBold, the single font measured closest to the GA 36 plate typeface, and five relatives
(see ``docs/renderer.md``). DejaVu Sans (Debian ``fonts-dejavu-core`` / ``fonts-dejavu-extra``) is the
alternative. Each glyph is cropped to its ink and fitted into its GA 36 character cell (paper §IV-C fonts).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from lprzoo.registry import Registry

log = logging.getLogger(__name__)

_RASTER_PX = 192  # glyphs are rasterised once at this size, then cropped and resized into cells


class FontNotFoundError(FileNotFoundError):
    """Raised when no installed copy of a font is found; the message names the install command."""


@dataclass(frozen=True)
class FontSource:
    """Where to find one font file: in a Python package (preferred) or at known system paths.

    Attributes:
        name: registry name.
        package: importable package that ships the file (found with :mod:`importlib.resources`).
        resource: the file's path inside ``package``.
        system_paths: ``(path, face index)`` fallbacks, e.g. Debian font packages.
        install: the command that installs the font, quoted in the error when it is missing.
        language: OpenType language tag passed to the layout engine (selects regional glyph forms).
        substitutions: label character -> glyph drawn for it; GA 36's ``1`` is a plain bar, like ``I``.
    """

    name: str
    package: str | None
    resource: str
    system_paths: tuple[tuple[str, int], ...] = ()
    install: str = ""
    language: str | None = None
    substitutions: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def locate(self) -> tuple[Path, int]:
        """The font file and face index, or :class:`FontNotFoundError` naming the install command."""
        if self.package and find_spec(self.package) is not None:
            path = Path(str(resources.files(self.package).joinpath(self.resource)))
            if path.is_file():
                return path, 0
        for p, index in self.system_paths:
            if Path(p).is_file():
                return Path(p), index
        raise FontNotFoundError(f"font {self.name!r} is not installed; install it with: {self.install}")


FONTS: Registry[FontSource] = Registry("font")


def register_font(source: FontSource) -> FontSource:
    """Register a :class:`FontSource` under its name."""
    return FONTS.register(source.name)(source)


_BAR_ONE = {"1": "I"}
register_font(
    FontSource(
        "noto-sans-cjk-bold",
        "noto_cjk_sans_jp_bold",
        "NotoSansCJKjp-Bold.otf",
        system_paths=(("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),),  # Debian fonts-noto-cjk, SC face
        install="pip install noto-cjk-sans-jp-bold   (or: apt-get install fonts-noto-cjk)",
        language="zh-Hans",
    )
)
# More weights of the same face, for the province-glyph mix (CJK_WEIGHT_MIX): Regular from the same PyPI family,
# Medium and Black from the cvttf packages (traditional-Chinese OTFs holding every region's glyphs; zh-Hans selects
# the simplified forms, checked in tests/render/test_renderer.py).
for _weight, _package, _file in (
    ("regular", "noto_cjk_sans_jp_regular", "NotoSansCJKjp-Regular.otf"),
    ("medium", "cvttf_NotoSansCJK_Medium", "NotoSansCJKtc-Medium.otf"),
    ("black", "cvttf_NotoSansCJK_Black", "NotoSansCJKtc-Black.otf"),
):
    _pip = _package.replace("_", "-")
    register_font(
        FontSource(
            f"noto-sans-cjk-{_weight}",
            _package,
            _file,
            system_paths=((f"/usr/share/fonts/opentype/noto/NotoSansCJK-{_weight.title()}.ttc", 2),),
            install=f"pip install {_pip}   (or: apt-get install fonts-noto-cjk fonts-noto-cjk-extra)",
            language="zh-Hans",
        )
    )
for _weight in ("Medium", "SemiBold", "Bold"):
    register_font(
        FontSource(
            f"barlow-condensed-{_weight.lower()}",
            "fontpkg_barlow_condensed",
            f"files/BarlowCondensed-{_weight}.ttf",
            install="pip install fontpkg-barlow-condensed",
            substitutions=_BAR_ONE,
        )
    )
# Narrow sans faces from PyPI for the font mix (OFL): GA 36's typeface is not on any registry, so a plate is drawn
# in one of several close relatives and the recognizer learns what the characters share rather than one font's
# quirks (docs/renderer.md measures what this did to script-only accuracy on real plates).
for _name, _package, _file in (
    ("saira-condensed-semibold", "saira-condensed", "SairaCondensed-SemiBold.ttf"),
    ("rajdhani-semibold", "rajdhani", "Rajdhani-SemiBold.ttf"),
    ("oswald", "oswald", "Oswald[wght].ttf"),
    ("roboto-condensed", "roboto-condensed", "RobotoCondensed[wght].ttf"),
    ("pt-sans-narrow-bold", "pt-sans-narrow", "PT_Sans-Narrow-Web-Bold.ttf"),
):
    register_font(
        FontSource(
            _name,
            f"fontpkg_{_package.replace('-', '_')}",
            f"files/{_file}",
            install=f"pip install fontpkg-{_package}",
            substitutions=_BAR_ONE,
        )
    )
_DEJAVU = "/usr/share/fonts/truetype/dejavu"
register_font(
    FontSource(
        "dejavu-sans-condensed-bold",
        None,
        "",
        system_paths=((f"{_DEJAVU}/DejaVuSansCondensed-Bold.ttf", 0),),
        install="apt-get install fonts-dejavu-extra",
        substitutions=_BAR_ONE,
    )
)
register_font(
    FontSource(
        "dejavu-sans-bold",
        "matplotlib",
        "mpl-data/fonts/ttf/DejaVuSans-Bold.ttf",
        system_paths=((f"{_DEJAVU}/DejaVuSans-Bold.ttf", 0),),
        install="apt-get install fonts-dejavu-core   (or: pip install matplotlib)",
        substitutions=_BAR_ONE,
    )
)

DEFAULT_CJK_FONT = "noto-sans-cjk-bold"
# The province glyph in four weights of one face, one per plate: the target camera's errors are mostly the province
# (docs/adaptation.md), and GA 36's glyph is drawn in a weight between Medium and Black once blurred.
CJK_WEIGHT_MIX = ("noto-sans-cjk-regular", "noto-sans-cjk-medium", DEFAULT_CJK_FONT, "noto-sans-cjk-black")
DEFAULT_LATIN_FONT = "barlow-condensed-semibold"
# The renderer's default: one of these per plate, uniformly (the first is the closest single font, see the docs).
DEFAULT_LATIN_FONTS = (
    DEFAULT_LATIN_FONT,
    "saira-condensed-semibold",
    "rajdhani-semibold",
    "oswald",
    "roboto-condensed",
    "pt-sans-narrow-bold",
)


def get_font(font: str | FontSource) -> FontSource:
    """A registered font by name, or ``font`` itself."""
    return font if isinstance(font, FontSource) else FONTS.get(font)


def cjk_font_path() -> Path:
    """Path of the default CJK font file (raises :class:`FontNotFoundError` with the install command)."""
    return get_font(DEFAULT_CJK_FONT).locate()[0]


@functools.cache
def _pil_font(font: FontSource) -> ImageFont.FreeTypeFont:
    path, index = font.locate()
    log.debug("font %s -> %s (face %d)", font.name, path, index)
    return ImageFont.truetype(str(path), _RASTER_PX, index=index)


@functools.cache
def _has_raqm() -> bool:
    ok = features.check_feature("raqm")
    if not ok:
        log.warning("Pillow has no raqm layout: CJK glyphs use the font's default regional forms")
    return bool(ok)


@functools.lru_cache(maxsize=4096)
def raw_glyph(char: str, font: FontSource) -> np.ndarray:
    """``char`` rasterised at a fixed size and cropped to its ink: uint8 coverage (h, w)."""
    pil = _pil_font(font)
    drawn = font.substitutions.get(char, char)
    kwargs = {"language": font.language} if font.language and _has_raqm() else {}
    left, top, right, bottom = pil.getbbox(drawn, **kwargs)
    canvas = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), drawn, font=pil, fill=255, **kwargs)
    ink = np.asarray(canvas)
    ys, xs = np.nonzero(ink > 8)
    if len(ys) == 0:
        raise ValueError(f"font {font.name!r} has no glyph for {char!r}")
    return np.ascontiguousarray(ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


@functools.cache
def _reference_aspect(font: FontSource) -> float:
    """Median ink width / height of the font's digits: the aspect that a full cell corresponds to."""
    return float(np.median([raw_glyph(d, font).shape[1] / raw_glyph(d, font).shape[0] for d in "023456789"]))


@dataclass(frozen=True)
class GlyphJitter:
    """Per-plate variation of the province glyph's stroke and size, beyond what font weights give.

    Real province glyphs (GA 36's own typeface, then a camera's blur and resolution) vary in stroke weight and in how
    much of their cell they fill; one rendered face shows neither.  Each plate draws one stroke and one horizontal
    and vertical scale, uniformly, from these lists (a discrete set, so drawn cells stay cached).

    Attributes:
        strokes: radii in raster pixels (glyphs are rasterised 192 px high; Noto Sans CJK's strokes are 12 px in
            Regular, 22 px in Black): positive thickens (dilation), negative thins (erosion), 0 keeps the face.
        scales: the glyph's width and height as a share of its cell, centred.
    """

    strokes: tuple[int, ...] = (-2, 0, 2)
    scales: tuple[float, ...] = (0.88, 0.94, 1.0)

    def __post_init__(self) -> None:
        if not self.strokes or not self.scales:
            raise ValueError("GlyphJitter: give at least one stroke and one scale")
        if any(not 0.3 <= s <= 1.0 for s in self.scales):
            raise ValueError(f"GlyphJitter: scales must lie in [0.3, 1], got {self.scales}")
        if any(abs(r) > 16 for r in self.strokes):
            raise ValueError(f"GlyphJitter: strokes must lie in [-16, 16] raster px, got {self.strokes}")

    @property
    def variants(self) -> list[tuple[int, float, float]]:
        """Every ``(stroke, x scale, y scale)``; variant 0 is the plain glyph when 0 and 1.0 are listed."""
        return [(r, sx, sy) for r in self.strokes for sx in self.scales for sy in self.scales]


@functools.lru_cache(maxsize=4096)
def _stroked_glyph(char: str, font: FontSource, stroke: int) -> np.ndarray:
    """:func:`raw_glyph` thickened (``stroke`` > 0) or thinned (< 0) by a disc of that radius, re-cropped to ink."""
    ink = raw_glyph(char, font)
    if stroke == 0:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(stroke) + 1, 2 * abs(stroke) + 1))
    padded = cv2.copyMakeBorder(ink, abs(stroke), abs(stroke), abs(stroke), abs(stroke), cv2.BORDER_CONSTANT, value=0)
    out = cv2.dilate(padded, kernel) if stroke > 0 else cv2.erode(padded, kernel)
    ys, xs = np.nonzero(out > 8)
    if len(ys) == 0:  # thinned away: keep the face
        return ink
    return np.ascontiguousarray(out[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])


def glyph_mask(
    char: str,
    font: str | FontSource,
    width: int,
    height: int,
    variant: tuple[int, float, float] = (0, 1.0, 1.0),
) -> np.ndarray:
    """``char`` fitted into a ``width`` x ``height`` pixel cell: float32 coverage in [0, 1].

    Glyphs are stretched to fill the cell (GA 36 characters all share one cell size), except narrow glyphs (the
    bar of ``1``), which keep their own aspect, scaled as a digit is, and are centred.  ``variant`` is a
    :class:`GlyphJitter` variant ``(stroke, x scale, y scale)``; the default draws the face as it is.
    """
    font = get_font(font)
    stroke, scale_x, scale_y = variant
    ink = _stroked_glyph(char, font, stroke)
    h, w = ink.shape
    gw, gh = max(1, round(width * scale_x)), max(1, round(height * scale_y))
    if char.isascii() and w / h < 0.5 * _reference_aspect(font):
        gw = max(1, min(gw, round(gw * (w / h) / _reference_aspect(font))))
    fitted = cv2.resize(ink, (gw, gh), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width), np.float32)
    x0, y0 = (width - gw) // 2, (height - gh) // 2
    out[y0 : y0 + gh, x0 : x0 + gw] = fitted.astype(np.float32) / 255.0
    return out
