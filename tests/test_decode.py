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


def _blurred_plate(text: str, doubt: dict[int, str], steps: int = 40) -> torch.Tensor:
    """Log-probs (1, T, K) spelling ``text`` one character per two frames; at positions in ``doubt`` the frame is
    split 60/40 with another character, and a stray repeat makes wrong-length labellings likely."""
    probs = torch.full((steps, 68), 1e-4)
    codes = CS.encode(text)
    for t in range(steps):
        i = t // 2
        if t % 2 == 0 and i < len(codes):
            probs[t, codes[i]] = 0.6 if i in doubt else 0.95
            if i in doubt:
                probs[t, CS.encode(doubt[i])[0]] = 0.35
        else:
            probs[t, 0] = 0.7
            if i < len(codes):
                probs[t, codes[i]] = 0.25  # the same character again: 京AA... when the blank is skipped
    return (probs / probs.sum(-1, keepdim=True)).log().unsqueeze(0)


def test_grammar_constrained_beam_returns_only_plates_deduplicated():
    """The unconstrained beam's alternatives include wrong lengths and non-plates; with the grammar every
    alternative is a valid plate, none repeated, and the right plate (a doubtful province) is among the top 3."""
    from lprzoo.decode import plate_grammar
    from lprzoo.render.rules import plate_spec_of

    log_probs = _blurred_plate("豫A12345", doubt={0: "陕", 6: "8"})
    free = prefix_beam_search(log_probs, CS, beam_width=10, top_n=5)[0]
    assert any(plate_spec_of(t) is None for t, _ in free.topn)  # junk today
    constrained = prefix_beam_search(log_probs, CS, beam_width=10, top_n=5, grammar=plate_grammar())[0]
    texts = [t for t, _ in constrained.topn]
    assert texts and all(plate_spec_of(t) is not None for t in texts)
    assert len(texts) == len(set(texts)) and "豫A12345" in texts[:3] and "陕A12345" in texts[:3]
    probs = [p for _, p in constrained.topn]
    assert probs == sorted(probs, reverse=True) and all(p > 1e-4 for p in probs)


def test_grammar_beam_falls_back_to_the_best_labelling_when_no_plate_survives():
    from lprzoo.decode import plate_grammar

    a = CS.encode("A")[0]
    pred = prefix_beam_search(frames([a, 0, a]), CS, beam_width=5, top_n=3, grammar=plate_grammar())[0]
    assert pred.text in ("", "A", "AA") and len(pred.topn) <= 1


def test_grammar_beam_keeps_the_probability_of_a_last_character_held_over_frames():
    """A complete plate whose last character spans several frames: the grammar forbids extending it, but the
    frames that repeat that character still belong to it, so its probability is the exact CTC one."""
    from lprzoo.decode import plate_grammar, text_probabilities

    codes = CS.encode("沪A05F26")
    probs = frames([c for code in codes[:-1] for c in (code, 0)] + [codes[-1]] * 2 + [0], p=0.97).exp()  # (1, 15, K)
    probs[0, -3, codes[-1]], probs[0, -3, 0] = 0.6, 0.37  # '6' read over two frames, as a real network does
    log_probs = probs.log()
    exact = text_probabilities(log_probs, ["沪A05F26"], CS)[0]
    free = prefix_beam_search(log_probs, CS, beam_width=10, top_n=1)[0]
    constrained = prefix_beam_search(log_probs, CS, beam_width=10, top_n=1, grammar=plate_grammar())[0]
    assert free.text == constrained.text == "沪A05F26"
    assert math.isclose(constrained.confidence, exact, rel_tol=1e-2)  # the beam prunes frames under 1e-3
    assert math.isclose(constrained.confidence, free.confidence, rel_tol=1e-6)
