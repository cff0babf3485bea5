"""The renderer: shapes, determinism, fonts, layout."""

from __future__ import annotations

import numpy as np
import pytest

from lprzoo.charset import PROVINCES
from lprzoo.render import SPECS, Degradations, FontNotFoundError, FontSource, PlateRenderer, glyph_mask
from lprzoo.render.fonts import (
    CJK_WEIGHT_MIX,
    DEFAULT_CJK_FONT,
    DEFAULT_LATIN_FONT,
    GlyphJitter,
    cjk_font_path,
    get_font,
    raw_glyph,
)
from lprzoo.render.rules import is_valid_plate


@pytest.mark.parametrize("spec", SPECS.list())
@pytest.mark.parametrize("degradations", ["default", "none"])
def test_every_spec_renders_at_the_right_shape(spec: str, degradations: str) -> None:
    r = PlateRenderer(spec, degradations=degradations)
    rng = np.random.default_rng(0)
    for _ in range(5):
        image, text = r.sample(rng)
        assert image.shape == (48, 160, 3) and image.dtype == np.uint8
        assert is_valid_plate(text, spec)
        assert image.std() > 10  # something was drawn
    other = PlateRenderer(spec, degradations=degradations, height=32, width=100).sample(rng)[0]
    assert other.shape == (32, 100, 3)


@pytest.mark.parametrize("degradations", ["default", "paper", "none"])
def test_same_seed_same_bytes(degradations: str) -> None:
    a = [PlateRenderer("blue", degradations).sample(np.random.default_rng(7)) for _ in range(2)]
    assert a[0][1] == a[1][1] and a[0][0].tobytes() == a[1][0].tobytes()
    r = PlateRenderer("blue", degradations)
    rng = np.random.default_rng(7)
    first = [r.sample(rng) for _ in range(3)]  # the caches filled by earlier plates change nothing
    assert first[0][0].tobytes() == a[0][0].tobytes()
    assert len({img.tobytes() for img, _ in first}) == 3


def test_clean_plate_layout_blue() -> None:
    """Clean blue plate: white characters exactly inside the GA 36 cells, blue between them."""
    r = PlateRenderer("blue", degradations="none", height=140, width=440)  # 1 px per mm at output scale
    plate = r.compose("京A12345")
    blue, white = np.array([30, 100, 222]), np.array([240, 242, 245])

    def inside(box):
        return plate[box[1] : box[3], box[0] : box[2]]

    for box in r._cells:
        cell = inside(box)
        frac_white = (np.abs(cell - white).sum(-1) < 60).mean()
        assert 0.15 < frac_white < 0.8
    gap = plate[r._cells[2][1] + 10 : r._cells[2][3] - 10, r._cells[2][0] - 6 : r._cells[2][0] - 2]  # right of dot
    assert (np.abs(gap - blue).sum(-1) < 30).all()
    # the separator dot is in the middle of the 34 mm gap
    cx, cy = (v * r.px_per_mm for v in SPECS.get("blue").dot_center())
    assert np.abs(plate[round(cy), round(cx)] - white).sum() < 30


def test_police_last_char_red() -> None:
    r = PlateRenderer("police", degradations="none", height=140, width=440)
    plate = r.compose("京A0123警")
    x0, y0, x1, y1 = r._cells[6]
    cell = plate[y0:y1, x0:x1].reshape(-1, 3)
    red = (cell[:, 0] > 150) & (cell[:, 1] < 80) & (cell[:, 2] < 80)
    assert red.mean() > 0.1


def test_text_changes_the_image_and_wrong_length_raises() -> None:
    r = PlateRenderer("blue", degradations="none")
    rng = np.random.default_rng(0)
    assert not np.array_equal(r.render("皖A12345", rng), r.render("皖A12346", rng))
    with pytest.raises(ValueError, match="7 characters"):
        r.render("皖A1234", rng)


def test_glyphs_cover_all_plate_characters() -> None:
    for c in PROVINCES + "警":
        mask = glyph_mask(c, "noto-sans-cjk-bold", 31, 62)
        assert mask.shape == (62, 31) and mask.max() > 0.9 and 0.1 < mask.mean() < 0.8
    one, zero = glyph_mask("1", DEFAULT_LATIN_FONT, 31, 62), glyph_mask("0", DEFAULT_LATIN_FONT, 31, 62)
    assert (one.max(0) > 0.5).sum() < (zero.max(0) > 0.5).sum() / 2  # the 1 is a narrow bar, centred
    assert cjk_font_path().is_file()


def test_missing_font_names_the_install_command() -> None:
    missing = FontSource("nope", "no_such_font_package", "x.ttf", (("/no/such.ttf", 0),), install="pip install nope")
    with pytest.raises(FontNotFoundError, match="pip install nope"):
        missing.locate()
    with pytest.raises(KeyError, match="unknown font"):
        get_font("no-such-font")
    assert raw_glyph("A", get_font(DEFAULT_LATIN_FONT)).dtype == np.uint8


def test_resolve_presets() -> None:
    with pytest.raises(ValueError, match="preset"):
        PlateRenderer("blue", degradations="strong")
    assert PlateRenderer("blue", degradations=None).degradations == Degradations.none()
    assert Degradations.paper().noise is not None and Degradations.paper().jpeg is None


def test_plates_are_drawn_in_a_mix_of_latin_fonts() -> None:
    """Each plate picks one of the renderer's latin fonts; a single font draws every plate the same way."""
    mixed = PlateRenderer("blue", degradations="none")
    assert len(mixed.latin_fonts) > 1
    clean = {mixed.compose("皖A12345", font=i).tobytes() for i in range(len(mixed.latin_fonts))}
    assert len(clean) == len(mixed.latin_fonts)  # every font draws differently
    rng = np.random.default_rng(0)
    drawn = {mixed.render("皖A12345", rng).tobytes() for _ in range(40)}
    assert len(drawn) == len(mixed.latin_fonts)  # without degradations, the font is all that varies
    single = PlateRenderer("blue", degradations="none", latin_fonts=DEFAULT_LATIN_FONT)
    assert len({single.render("皖A12345", rng).tobytes() for _ in range(5)}) == 1
    with pytest.raises(ValueError, match="at least one"):
        PlateRenderer("blue", latin_fonts=[])


def test_the_province_glyph_can_be_drawn_in_a_mix_of_cjk_weights() -> None:
    """``cjk_fonts`` varies the province glyph per plate and leaves the letters and digits alone; one CJK font (the
    default) draws nothing from the random stream, so default renders are unchanged."""
    mixed = PlateRenderer("blue", degradations="none", latin_fonts=DEFAULT_LATIN_FONT, cjk_fonts=CJK_WEIGHT_MIX)
    assert [f.name for f in mixed.cjk_fonts] == list(CJK_WEIGHT_MIX)
    clean = [mixed.compose("苏A12345", cjk_font=i) for i in range(len(CJK_WEIGHT_MIX))]
    assert len({c.tobytes() for c in clean}) == len(CJK_WEIGHT_MIX)
    province_end = mixed._cells[0][2]  # the letters and digits are drawn identically in every weight
    assert all(np.array_equal(c[:, province_end + 1 :], clean[0][:, province_end + 1 :]) for c in clean)
    ink = [float((c[:, :province_end].mean(axis=2) > 128).mean()) for c in clean]  # white glyph on blue
    assert ink == sorted(ink)  # Regular < Medium < Bold < Black
    rng = np.random.default_rng(0)
    assert len({mixed.render("苏A12345", rng).tobytes() for _ in range(40)}) == len(CJK_WEIGHT_MIX)
    default, single = PlateRenderer("blue"), PlateRenderer("blue", cjk_fonts=DEFAULT_CJK_FONT)
    a, b = default.render("苏A12345", np.random.default_rng(3)), single.render("苏A12345", np.random.default_rng(3))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="cjk_fonts: give at least one"):
        PlateRenderer("blue", cjk_fonts=[])


def test_glyph_jitter_thickens_thins_and_shrinks_only_the_province_glyph() -> None:
    """``cjk_jitter`` draws the province glyph with its stroke thickened or thinned and its size varied; letters and
    digits are untouched, and ``None`` (the default) renders exactly as before."""
    jitter = GlyphJitter(strokes=(-2, 0, 3), scales=(0.8, 1.0))
    r = PlateRenderer("blue", degradations="none", latin_fonts=DEFAULT_LATIN_FONT, cjk_jitter=jitter)
    variants = jitter.variants
    plain = variants.index((0, 1.0, 1.0))
    end = r._cells[0][2]
    ink = {
        v: float((r.compose("豫A12345", cjk_variant=i)[:, :end].mean(axis=2) > 128).mean())
        for i, v in enumerate(variants)
    }
    assert ink[(-2, 1.0, 1.0)] < ink[(0, 1.0, 1.0)] < ink[(3, 1.0, 1.0)]  # thinner, the face, thicker
    assert ink[(0, 0.8, 0.8)] < ink[(0, 1.0, 1.0)]  # a smaller glyph inks less of its cell
    digits = [r.compose("豫A12345", cjk_variant=i)[:, end + 1 :] for i in range(len(variants))]
    assert all(np.array_equal(d, digits[plain]) for d in digits)
    rng = np.random.default_rng(0)
    assert len({r.render("豫A12345", rng).tobytes() for _ in range(60)}) > len(variants) // 2
    a = PlateRenderer("blue").render("苏A12345", np.random.default_rng(3))
    b = PlateRenderer("blue", cjk_jitter=None).render("苏A12345", np.random.default_rng(3))
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="scales must lie"):
        GlyphJitter(scales=(1.5,))


@pytest.mark.parametrize("font", CJK_WEIGHT_MIX)
def test_every_cjk_weight_draws_the_simplified_province_forms(font: str) -> None:
    """The Medium and Black files are traditional-Chinese OTFs: the ``zh-Hans`` language tag must select the
    simplified forms, as in the default Bold file (the grass radical of 苏, for one, is drawn differently by region)."""
    from PIL import Image, ImageDraw, ImageFont

    path, index = get_font(font).locate()
    pil = ImageFont.truetype(str(path), 64, index=index)

    def draw(char: str, language: str) -> np.ndarray:
        canvas = Image.new("L", (80, 80))
        ImageDraw.Draw(canvas).text((4, 4), char, font=pil, fill=255, language=language)
        return np.asarray(canvas)

    differs = [c for c in "冀苏豫渝青新" if not np.array_equal(draw(c, "zh-Hans"), draw(c, "zh-Hant"))]
    assert differs == list("冀苏豫渝青新")
    assert get_font(font).language == "zh-Hans"


@pytest.mark.parametrize("spec", SPECS.list())
def test_every_spec_renders_at_the_contract_size_in_the_special_alphabet(spec):
    from lprzoo.charset import SPECIAL, Charset

    charset = Charset(SPECIAL)
    for size in ((48, 160), (32, 128)):
        image, text = PlateRenderer(spec, height=size[0], width=size[1]).sample(np.random.default_rng(1))
        assert image.shape == (*size, 3) and image.dtype == np.uint8
        assert not charset.unknown(text), f"{spec}: {text!r} has characters outside the special alphabet"
