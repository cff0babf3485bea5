"""The input contract's layout: a double-row plate's rows found and placed side by side, for renders and photos."""

import numpy as np
import pytest
from PIL import Image

from lprzoo.layout import level_angle, row_boundary, side_by_side, text_columns, to_input
from lprzoo.render.dataset import item_rng
from lprzoo.render.renderer import PlateRenderer

GAP = (75 / 220, 90 / 220)  # GA 36: the top row ends at 75 mm, the bottom row starts at 90 mm of 220


def _crops(degradations: str, n: int) -> list[np.ndarray]:
    """Photos of double-row plates: the whole plate in a crop of its own shape (no layout applied)."""
    renderer = PlateRenderer("yellow-double", degradations, height=96, width=192, layout="single")
    return [renderer.sample(item_rng(3, i))[0] for i in range(n)]


def test_the_boundary_lies_in_the_gap_between_the_rows_of_clean_plates():
    for crop in _crops("none", 20):
        assert GAP[0] - 0.02 <= row_boundary(crop) / crop.shape[0] <= GAP[1] + 0.02


def test_the_boundary_is_found_on_degraded_photos_too():
    found = [row_boundary(crop) / crop.shape[0] for crop in _crops("default", 100)]
    inside = np.mean([GAP[0] - 0.05 <= b <= GAP[1] + 0.05 for b in found])
    assert inside >= 0.9, f"{inside:.2f} of the boundaries near the gap"


def test_rows_side_by_side_fill_the_contract_size_top_row_first():
    crop = np.full((90, 180, 3), 128, np.uint8)  # a flat gap at rows 32-42 between two textured rows
    crop[:32], crop[:32, ::10] = 220, 0  # a light top row with dark strokes
    crop[42:], crop[42:, ::10] = 30, 255  # a dark bottom row with light strokes
    out = side_by_side(crop, 48, 160)
    assert out.shape == (48, 160, 3)
    assert out[:, :65].mean() > 150 and out[:, 72:].mean() < 90  # the top row is the left 3/7
    assert to_input(crop, 48, 160).shape == (48, 160, 3)


@pytest.mark.parametrize("layout", ["rows", "rows-tight", "rows-level"])
@pytest.mark.parametrize("degradations", ["none", "default"])
def test_the_renderer_splits_a_double_row_plate_as_the_reader_splits_a_photo(degradations, layout):
    # the renderer's rows image is its photo of the plate (a crop of the plate's own shape) through to_input
    rows, text = PlateRenderer("yellow-double", degradations, layout=layout).sample(item_rng(0, 5))
    photo, same = PlateRenderer("yellow-double", degradations, height=96, width=192, layout="single").sample(
        item_rng(0, 5)
    )
    assert text == same and rows.shape == (48, 160, 3)
    np.testing.assert_array_equal(rows, to_input(photo, 48, 160, "double", layout))
    squeezed, _ = PlateRenderer("yellow-double", degradations, layout="single").sample(item_rng(0, 5))
    assert np.abs(squeezed.astype(int) - rows).mean() > 20  # the old layout squeezes the whole plate instead


def test_the_top_row_is_trimmed_to_its_text_not_to_the_plates_edges():
    row = np.full((40, 200, 3), 200, np.uint8)  # a light plate row ...
    row[:, :12], row[:, -12:] = 20, 20  # ... between dark background, whose edges are single strong columns
    for x in range(70, 130, 6):  # strokes of two glyphs in the middle
        row[8:32, x : x + 2] = 0
    x0, x1 = text_columns(row)
    assert 12 < x0 <= 70 and 130 <= x1 < 188  # every stroke kept, the plate's edges left out
    assert x1 - x0 < 0.65 * 200


def test_a_tight_layout_gives_the_province_glyph_more_width():
    photo, _ = PlateRenderer("yellow-double", "none", height=96, width=192, layout="single").sample(item_rng(0, 2))
    top = photo[: row_boundary(photo)]
    x0, x1 = text_columns(top)
    assert x1 - x0 < 0.8 * top.shape[1]  # the trimmed row is narrower, so its glyphs are scaled wider
    whole, tight = to_input(photo, 48, 160, "double", "rows"), to_input(photo, 48, 160, "double", "rows-tight")
    assert np.abs(whole[:, 69:].astype(int) - tight[:, 69:]).max() == 0  # the bottom row is the same
    assert np.abs(whole[:, :69].astype(int) - tight[:, :69]).mean() > 10


def test_a_tilted_plate_is_turned_back_and_split_between_its_rows():
    """Clean double-row plates turned by 6 degrees either way: ``level_angle`` turns them back (by 3 to 8 degrees;
    a wide gap is clean over a few degrees), and the top row of the levelled split is closer to that of the plate
    as it was than the top row cut from the tilted plate as it stands, which takes in a strip of the bottom row."""
    closer = []
    for crop in _crops("none", 6):
        fill = tuple(int(v) for v in np.median(crop.reshape(-1, 3), axis=0))
        straight = to_input(crop, 48, 160, "double", "rows-tight")[:, :69].astype(int)
        for turn in (-6.0, 6.0):
            tilted = np.asarray(Image.fromarray(crop).rotate(turn, Image.BILINEAR, fillcolor=fill))
            assert -8 <= level_angle(tilted) * np.sign(turn) <= -3, turn
            level = to_input(tilted, 48, 160, "double", "rows-level")[:, :69].astype(int)
            as_is = to_input(tilted, 48, 160, "double", "rows-tight")[:, :69].astype(int)
            closer.append(np.abs(level - straight).mean() < np.abs(as_is - straight).mean())
    assert np.mean(closer) >= 0.75, closer
