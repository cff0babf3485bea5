"""CTC decoding: greedy best path (paper §III-B, Eq. 9-10) and prefix beam search for top-N (§IV-B).

Both take per-step log-probabilities ``(B, T, K)`` (``log_softmax`` of the CRNN logits) and return
:class:`Prediction` objects with the plate text, a plate confidence and per-character confidences.

torchaudio's CTC decoder needs flashlight-text and a lexicon; a plate has at most 8 characters and T = 40, so a
small numpy prefix beam search with per-step pruning is fast enough (see ``benchmarks/inference.py``).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from lprzoo.charset import BLANK, Charset
from lprzoo.kinds import predicted_kind


@dataclass
class Prediction:
    """One decoded plate.

    Attributes:
        text: the best labelling.
        confidence: plate confidence in ``[0, 1]``: the product of the character confidences (greedy), or the
            labelling's total CTC probability (beam search).
        char_confidences: per character, the highest frame probability of that character on the best path.
        topn: ``[(text, probability), ...]`` from beam search, best first (empty for greedy).
    """

    text: str
    confidence: float
    char_confidences: list[float] = field(default_factory=list)
    topn: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class PlateGrammar:
    """What a grammar-constrained beam needs to know of plates (:func:`plate_grammar` builds it).

    Attributes:
        prefix_ok: whether a text can still be completed to a valid plate.
        complete_ok: whether a text is a valid plate.
    """

    prefix_ok: Callable[[str], bool]
    complete_ok: Callable[[str], bool]


@functools.lru_cache(maxsize=32)
def plate_grammar(specs: tuple[str, ...] | None = None) -> PlateGrammar:
    """The grammar of every registered plate spec, or of ``specs`` (e.g. one plate kind's,
    :func:`lprzoo.render.rules.specs_of_kind`), for a grammar-constrained beam (:mod:`lprzoo.render.rules`)."""
    from lprzoo.render.rules import is_plate_prefix, plate_spec_of

    return PlateGrammar(lambda text: is_plate_prefix(text, specs), lambda text: plate_spec_of(text, specs) is not None)


KIND_GRAMMAR_MIN = 0.9  # the kind head's probability from which a plate's readings keep to its kind's specs


def kind_beam_search(
    log_probs: torch.Tensor,
    charset: Charset,
    beam_width: int,
    top_n: int,
    kind_logits: torch.Tensor,
    grammar: PlateGrammar,
) -> list[Prediction]:
    """:func:`prefix_beam_search` where a plate whose kind the head gives at least :data:`KIND_GRAMMAR_MIN` is read
    within its kind's specs (a blue plate's alternatives are blue plates, never an 8-character green one), the
    others within ``grammar``; ``kind_logits`` ``(B, colours + rows)``."""
    from lprzoo.render.rules import specs_of_kind

    groups: dict[PlateGrammar, list[int]] = {}
    for i, logits in enumerate(kind_logits):
        kind, p = predicted_kind(logits)
        chosen = plate_grammar(specs_of_kind(kind.colour, kind.rows)) if p >= KIND_GRAMMAR_MIN else grammar
        groups.setdefault(chosen, []).append(i)
    out: list[Prediction] = [None] * len(log_probs)  # type: ignore[list-item]
    for chosen, rows in groups.items():
        for i, p in zip(rows, prefix_beam_search(log_probs[rows], charset, beam_width, top_n, grammar=chosen)):
            out[i] = p
    return out


def greedy_decode(log_probs: torch.Tensor, charset: Charset) -> list[Prediction]:
    """Best-path decoding: argmax per step, merge repeats, drop blanks (B(π*) in Eq. 10)."""
    probs, best = log_probs.detach().float().exp().max(dim=-1)  # (B, T), (B, T)
    out = []
    for p_row, k_row in zip(probs.cpu().numpy(), best.cpu().numpy()):
        chars: list[int] = []
        confs: list[float] = []
        prev = BLANK
        for p, k in zip(p_row, k_row):
            if k != BLANK and k != prev:
                chars.append(int(k))
                confs.append(float(p))
            elif k != BLANK and k == prev:
                confs[-1] = max(confs[-1], float(p))
            prev = k
        out.append(Prediction(charset.decode(chars), float(np.prod(confs)) if confs else 0.0, confs))
    return out


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def prefix_beam_search(
    log_probs: torch.Tensor,
    charset: Charset,
    beam_width: int = 10,
    top_n: int = 5,
    prune: float = 1e-3,
    max_candidates: int = 8,
    grammar: PlateGrammar | None = None,
) -> list[Prediction]:
    """CTC prefix beam search (Graves 2006; Hannun et al. 2014) returning the ``top_n`` labellings.

    With a ``grammar`` the beam only extends prefixes that can still become a plate and returns only complete
    plates, so its alternatives are plates (the top reading too, unless no complete plate survived: then the best
    labelling is returned as is, and a reader flags it ``valid=False``).

    Args:
        log_probs: ``(B, T, K)`` log-probabilities.
        beam_width: prefixes kept per step.
        top_n: labellings returned per plate, with their probabilities.
        prune: characters whose frame probability is below this are not extended at that step.
        max_candidates: at most this many of the most probable characters are extended per step (bounds the cost
            on the flat output of an untrained network).
        grammar: constrain the labellings to plates (first-hour top-N: alternatives a user can act on).
    """
    lp = log_probs.detach().float().cpu().numpy()
    log_prune = math.log(prune)
    greedy = greedy_decode(log_probs, charset)
    allowed: dict[tuple[int, ...], bool] = {}  # prefix -> grammar verdict, shared by the batch

    def extendable(prefix: tuple[int, ...]) -> bool:
        if grammar is None:
            return True
        if prefix not in allowed:
            allowed[prefix] = grammar.prefix_ok(charset.decode(prefix))
        return allowed[prefix]

    results = []
    for b in range(lp.shape[0]):
        # prefix -> (log P(prefix, ends in blank), log P(prefix, ends in non-blank))
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
        for frame in lp[b]:
            best = np.argpartition(frame, -max_candidates)[-max_candidates:]
            candidates = best[frame[best] >= log_prune]
            nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
            for prefix, (pb, pnb) in beams.items():
                total = _logsumexp(pb, pnb)
                for k in candidates:
                    p = float(frame[k])
                    if k == BLANK:
                        nxt[prefix][0] = _logsumexp(nxt[prefix][0], total + p)
                        continue
                    repeated = bool(prefix) and prefix[-1] == k
                    if repeated:  # a path ending in this char stays on the prefix (collapses), grammar or not
                        nxt[prefix][1] = _logsumexp(nxt[prefix][1], pnb + p)
                    ext = prefix + (int(k),)
                    if not extendable(ext):
                        continue
                    # a repeated char extends only from a path ending in blank
                    nxt[ext][1] = _logsumexp(nxt[ext][1], (pb if repeated else total) + p)
            ranked = sorted(nxt.items(), key=lambda kv: _logsumexp(*kv[1]), reverse=True)[:beam_width]
            beams = {k: (v[0], v[1]) for k, v in ranked}
        ranked_final = sorted(beams.items(), key=lambda kv: _logsumexp(*kv[1]), reverse=True)
        topn = [(charset.decode(prefix), math.exp(_logsumexp(*scores))) for prefix, scores in ranked_final]
        if grammar is not None:
            topn = [(text, p) for text, p in topn if grammar.complete_ok(text)]
            if not topn:  # no complete plate survived: the unconstrained best labelling, flagged invalid by a reader
                free = prefix_beam_search(log_probs[b : b + 1], charset, beam_width, 1, prune, max_candidates)[0]
                topn = free.topn[:1]
        topn = topn[:top_n]
        g = greedy[b]
        best_text, best_p = topn[0] if topn else ("", 0.0)
        char_conf = g.char_confidences if g.text == best_text else []
        results.append(Prediction(best_text, best_p, char_conf, topn))
    return results


def text_probabilities(log_probs: torch.Tensor, texts: list[str], charset: Charset) -> list[float]:
    """The total CTC probability of each labelling ``texts[b]`` under ``log_probs[b]`` ``(B, T, K)`` (Eq. 3-4):
    exact, by the forward algorithm of ``torch.nn.functional.ctc_loss``; an empty text is the all-blank path."""
    targets = [charset.encode(t) for t in texts]
    lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
    flat = torch.tensor([i for t in targets for i in t], dtype=torch.long)
    steps = torch.full((len(texts),), log_probs.shape[1], dtype=torch.long)
    nll = torch.nn.functional.ctc_loss(
        log_probs.float().transpose(0, 1), flat, steps, lengths, blank=BLANK, reduction="none", zero_infinity=False
    )  # (B,)
    return [float(p) for p in torch.exp(-nll)]
