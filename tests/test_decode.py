import math

import torch

from lprzoo.charset import Charset
from lprzoo.decode import greedy_decode, prefix_beam_search

CS = Charset()


def frames(path: list[int], k: int = 68, p: float = 0.9) -> torch.Tensor:
    """Log-probs (1, T, K) whose best path is ``path`` with probability ``p`` per frame."""
    probs = torch.full((len(path), k), (1 - p) / (k - 1))
    for t, c in enumerate(path):
        probs[t, c] = p
    return probs.log().unsqueeze(0)


def test_greedy_collapses_repeats_and_blanks():
    a, b = CS.encode("京A")
    pred = greedy_decode(frames([a, a, 0, b, b, 0, 0]), CS)[0]
    assert pred.text == "京A"
    assert len(pred.char_confidences) == 2
    assert math.isclose(pred.confidence, 0.9 * 0.9, rel_tol=1e-4)


def test_greedy_keeps_double_letters_separated_by_blank():
    a = CS.encode("1")[0]
    assert greedy_decode(frames([a, 0, a]), CS)[0].text == "11"


def test_beam_search_sums_paths_and_ranks_topn():
    # Two frames: "A" then blank/"A". P("A") sums paths A-, AA, -A ; beam must find it as the best labelling.
    a = CS.encode("A")[0]
    probs = torch.zeros(1, 2, 68)
    probs[0, 0, a], probs[0, 0, 0] = 0.6, 0.4
    probs[0, 1, a], probs[0, 1, 0] = 0.4, 0.6
    pred = prefix_beam_search(probs.clamp_min(1e-8).log(), CS, beam_width=5, top_n=3)[0]
    texts = [t for t, _ in pred.topn]
    assert texts[0] == "A"
    expected = 0.6 * 0.6 + 0.6 * 0.4 + 0.4 * 0.4  # A-, AA, -A
    assert math.isclose(pred.topn[0][1], expected, rel_tol=1e-3)
    assert "" in texts and math.isclose(dict(pred.topn)[""], 0.4 * 0.6, rel_tol=1e-3)


def test_beam_top1_matches_greedy_on_peaked_output():
    path = CS.encode("沪B5S0D8")
    seq = []
    for c in path:
        seq += [c, 0]
    lp = frames(seq)
    assert prefix_beam_search(lp, CS)[0].text == greedy_decode(lp, CS)[0].text == "沪B5S0D8"
