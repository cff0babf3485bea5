import torch

from lprzoo.charset import Charset
from lprzoo.viz import confidence_map, prediction_grid


def test_prediction_grid_marks_right_and_wrong():
    images = torch.zeros(2, 3, 48, 160)
    picture = prediction_grid(images, ["京A12345", "京A1234"], ["京A12345", "京A12345"], [0.9, 0.4], columns=2)
    assert picture.size == (2 * (320 + 8) + 8, 96 + 26 + 8)
    pixels = set(picture.getdata())
    assert (0, 140, 0) in pixels and (200, 0, 0) in pixels  # green label for the right plate, red for the wrong one


def test_confidence_map_rows_follow_papers_order():
    cs = Charset()
    log_probs = torch.full((40, 68), -20.0)
    log_probs[:, 0] = 0.0  # everything blank
    picture = confidence_map(log_probs, cs, cell=2)
    assert picture.size == (40 * 2, 68 * 2 // 2)
    # blank is the last row (paper Fig. 2): white at the bottom, green at the top
    assert picture.getpixel((0, picture.height - 1)) == (255, 255, 255)
    assert picture.getpixel((0, 0)) == (0, 100, 0)


def test_confidence_map_averages_many_inputs_and_draws_plate():
    picture = confidence_map(torch.randn(5, 40, 68).log_softmax(-1), Charset(), image=torch.rand(3, 48, 160))
    assert picture.height > 68 * 8 // 2
