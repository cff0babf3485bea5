"""Plate kinds: the classes of the kind head, what a label decides, and the look of a plate when nothing else does."""

import numpy as np
import pytest

from lprzoo.kinds import COLOURS, ROWS, UNKNOWN, PlateKind, colour_by_hue, colour_of, kind_of_label
from lprzoo.render.dataset import item_rng
from lprzoo.render.renderer import PlateRenderer
from lprzoo.render.specs import SPECS


def test_a_kind_names_itself_and_gives_the_heads_classes():
    assert str(PlateKind("blue")) == "blue" and str(PlateKind("yellow", "double")) == "yellow-double"
    assert PlateKind("green", "double").indices() == (COLOURS.index("green"), ROWS.index("double"))
    assert PlateKind("unknown").indices() == (UNKNOWN, 0)


@pytest.mark.parametrize(
    "label, colour",
    [("京A1234警", "white"), ("粤Z1234港", "black"), ("使123456", "black"), ("沪A1234领", "black"),
     ("粤A1234学", "yellow"), ("粤A1234挂", "yellow"), ("京A1234应急", "white"), ("皖AD12345", "green"),
     ("皖A12345", None)],
)  # fmt: skip
def test_a_label_decides_the_colour_of_special_and_new_energy_plates(label, colour):
    assert kind_of_label(label) == colour


@pytest.mark.parametrize("spec", ["blue", "yellow", "green", "police", "black-hk-macau"])
def test_the_look_of_clean_renders_gives_their_spec_colour(spec):
    renderer = PlateRenderer(spec, degradations="none")
    colours = [colour_by_hue(renderer.sample(item_rng(0, i))[0]) for i in range(10)]
    assert colours == [SPECS.get(spec).colour] * 10


def test_a_night_shot_of_a_blue_plate_is_not_yellow():
    # light characters on a dark ground with an orange cast (sodium light): the polarity says blue or black
    plate = np.full((48, 160, 3), (40, 40, 90), np.uint8)
    plate[12:36, 10:150:12] = (230, 170, 60)  # orange-lit character strokes
    assert colour_by_hue(plate) == "blue"
    assert colour_of("皖A12345", plate) == "blue" and colour_of("京A1234警", plate) == "white"
