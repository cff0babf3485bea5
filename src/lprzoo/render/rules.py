"""Plate-number grammar: one validator and one sampler (paper §IV-C: "the second character must be letter and at
most two letters (exclude I and O) in last five characters").

The grammar of a plate type is data on its :class:`~lprzoo.render.specs.PlateSpec` (``patterns`` and
``max_tail_letters``), compiled once into a :class:`Grammar`. :func:`is_valid_plate` is a pure function of the
text and the spec, so the grammar-constrained decoder can reuse it, together with :func:`is_valid_prefix`.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lprzoo.charset import DIGITS, LETTERS, PROVINCES
from lprzoo.render.specs import PlateSpec, get_spec

_TOKEN = re.compile(r"\[([^\]]+)\]|(.)")
_REPEAT = re.compile(r"\{(\d+)\}")


def parse_pattern(pattern: str) -> tuple[str, ...]:
    """Pattern (``[...]`` classes with ranges, literals, ``{n}``) -> the allowed characters of each position."""
    out: list[str] = []
    pos = 0
    while pos < len(pattern):
        m = _TOKEN.match(pattern, pos)
        assert m is not None
        body, literal = m.groups()
        if literal is not None and literal in "{}[]-":
            raise ValueError(f"bad pattern {pattern!r} at {pos}: unexpected {literal!r}")
        chars = literal or re.sub(r"(.)-(.)", lambda r: "".join(map(chr, range(ord(r[1]), ord(r[2]) + 1))), body)
        pos = m.end()
        rep = _REPEAT.match(pattern, pos)
        count = int(rep[1]) if rep else 1
        pos = rep.end() if rep else pos
        out += ["".join(dict.fromkeys(chars))] * count
    return tuple(out)


def _is_letter(c: str) -> bool:
    return c in LETTERS


@dataclass(frozen=True)
class Grammar:
    """A spec's patterns, compiled: per-position character sets and the tail-letter cap."""

    patterns: tuple[tuple[str, ...], ...]
    weights: tuple[float, ...]
    max_tail_letters: int | None
    tail_letter_probs: tuple[float, ...]

    def explain(self, text: str) -> str | None:
        """Why ``text`` matches no pattern (``None`` when it is valid)."""
        if not isinstance(text, str):
            return f"expected a string, got {type(text).__name__}"
        reasons = []
        for classes in self.patterns:
            if len(text) != len(classes):
                reasons.append(f"length {len(text)} != {len(classes)}")
                continue
            bad = next((i for i, (c, allowed) in enumerate(zip(text, classes)) if c not in allowed), None)
            if bad is not None:
                reasons.append(f"position {bad} is {text[bad]!r}, expected one of {_short(classes[bad])}")
                continue
            letters = sum(map(_is_letter, text[2:]))
            if self.max_tail_letters is not None and letters > self.max_tail_letters:
                reasons.append(f"{letters} letters after the first two characters (at most {self.max_tail_letters})")
                continue
            return None
        return f"{text!r}: " + "; ".join(dict.fromkeys(reasons))

    def prefix_ok(self, prefix: str) -> bool:
        """Whether some valid label starts with ``prefix``."""
        letters_ok = self.max_tail_letters is None or sum(map(_is_letter, prefix[2:])) <= self.max_tail_letters
        return letters_ok and any(
            len(prefix) <= len(classes) and all(c in a for c, a in zip(prefix, classes)) for classes in self.patterns
        )

    @functools.cached_property
    def _plans(self) -> list[tuple[tuple[str, ...], dict[int, tuple[str, str]], list[float]]]:
        """Per pattern: the classes; the tail positions that may hold a letter or a digit, with their letters and
        digits; and the cumulative probabilities of 0, 1, ... letters there (truncated to the letter cap)."""
        plans = []
        for classes in self.patterns:
            forced = sum(1 for i, a in enumerate(classes) if i >= 2 and all(map(_is_letter, a)))
            mixed = {
                i: ("".join(filter(_is_letter, a)), "".join(c for c in a if c in DIGITS))
                for i, a in enumerate(classes)
                if i >= 2 and any(map(_is_letter, a)) and set(a) & set(DIGITS)
            }
            cap = (
                len(mixed) if self.max_tail_letters is None else max(0, min(len(mixed), self.max_tail_letters - forced))
            )
            probs = np.asarray((self.tail_letter_probs + (0.0,) * (cap + 1))[: cap + 1], dtype=float)
            probs = probs / probs.sum() if probs.sum() > 0 else np.eye(cap + 1)[0]
            plans.append((classes, mixed, np.cumsum(probs).tolist()))
        return plans

    @functools.cached_property
    def _pattern_cdf(self) -> list[float]:
        return list(itertools.accumulate(w / sum(self.weights) for w in self.weights))

    def sample(self, rng: np.random.Generator, province_cdf: list[float] | None = None) -> str:
        """Draw one valid label: pattern, then how many tail letters and where, then each character.

        Args:
            rng: random source (one ``rng.random`` call per label).
            province_cdf: cumulative province probabilities in ``PROVINCES`` order; ``None``: uniform.
        """
        n = max(map(len, self.patterns))
        u = rng.random(2 + 2 * n).tolist()
        classes, mixed, k_cdf = self._plans[min(bisect.bisect_right(self._pattern_cdf, u[0]), len(self.patterns) - 1)]
        k = min(bisect.bisect_right(k_cdf, u[1]), len(k_cdf) - 1)
        letter_pos = set(sorted(mixed, key=lambda i: u[i])[:k])  # u[2:n+2] orders the positions at random
        out = []
        for i, allowed in enumerate(classes):
            if i in mixed:
                allowed = mixed[i][0] if i in letter_pos else mixed[i][1]
            r = u[2 + n + i]
            if province_cdf is not None and allowed == PROVINCES:
                out.append(PROVINCES[min(bisect.bisect_right(province_cdf, r), len(PROVINCES) - 1)])
            else:
                out.append(allowed[int(r * len(allowed))])
        return "".join(out)


def _short(chars: str) -> str:
    return repr(chars) if len(chars) <= 12 else f"{len(chars)} characters ({chars[:6]}...)"


@functools.cache
def _grammar(spec: PlateSpec) -> Grammar:
    weights = spec.pattern_weights or (1.0,) * len(spec.patterns)
    return Grammar(tuple(map(parse_pattern, spec.patterns)), weights, spec.max_tail_letters, spec.tail_letter_probs)


def grammar(spec: str | PlateSpec) -> Grammar:
    """The compiled grammar of a spec (cached)."""
    return _grammar(get_spec(spec))


def explain_invalid(text: str, spec: str | PlateSpec) -> str | None:
    """A human-readable reason why ``text`` is not a valid label for ``spec``, or ``None`` if it is valid."""
    return grammar(spec).explain(text)


def is_valid_plate(text: str, spec: str | PlateSpec) -> bool:
    """Whether ``text`` is a well-formed label for the plate type ``spec`` (GA 36-2018 composition rules).

    Rules (by the spec's patterns): province, then a letter, then 5 alphanumerics with at most two letters,
    never I or O; new-energy plates carry 8 characters (``[DF][A-HJ-NP-Z0-9][0-9]{4}`` small,
    ``[0-9]{5}[DF]`` large); police plates end with 警.

    Args:
        text: the label, e.g. ``"皖A12345"``.
        spec: a registered spec name or a :class:`~lprzoo.render.specs.PlateSpec`.
    """
    return grammar(spec).explain(text) is None


def is_valid_prefix(prefix: str, spec: str | PlateSpec) -> bool:
    """Whether ``prefix`` can still be completed to a valid label (for grammar-constrained decoding)."""
    return grammar(spec).prefix_ok(prefix)


@functools.lru_cache(maxsize=65536)
def is_plate_prefix(prefix: str, specs: tuple[str, ...] | None = None) -> bool:
    """Whether ``prefix`` can still be completed to a valid label of any registered spec (or of ``specs``)."""
    from lprzoo.render.specs import SPECS

    return any(is_valid_prefix(prefix, name) for name in (SPECS if specs is None else specs))


def specs_of_kind(colour: str | None = None, rows: str | None = None) -> tuple[str, ...]:
    """The registered specs of a plate kind (:mod:`lprzoo.kinds`): ``specs_of_kind("yellow", "double")`` ->
    ``("yellow-double", "yellow-trailer")``; ``None`` matches any colour or rows."""
    from lprzoo.render.specs import SPECS

    return tuple(
        name for name in SPECS
        if colour in (None, SPECS.get(name).colour) and rows in (None, SPECS.get(name).kind.rows)
    )  # fmt: skip


def province_probabilities(weights: Mapping[str, float] | None) -> np.ndarray | None:
    """Province weights (any subset of the 31, others get 0) -> probabilities in ``PROVINCES`` order."""
    if weights is None:
        return None
    unknown = set(weights) - set(PROVINCES)
    if unknown:
        raise ValueError(f"province_weights has keys that are not province characters: {sorted(unknown)}")
    p = np.array([float(weights.get(c, 0.0)) for c in PROVINCES])
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"province_weights must be non-negative with a positive sum, got {dict(weights)}")
    return p / p.sum()


def sample_plate_text(
    spec: str | PlateSpec, rng: np.random.Generator, province_weights: Mapping[str, float] | None = None
) -> str:
    """Draw a random valid label for ``spec`` (paper §IV-C composition rules).

    Args:
        spec: a registered spec name or a :class:`~lprzoo.render.specs.PlateSpec`.
        rng: the random source; the same generator state gives the same label.
        province_weights: relative frequency per province character (see :func:`estimate_province_weights`);
            ``None`` samples provinces uniformly.
    """
    p = province_probabilities(province_weights)
    return grammar(spec).sample(rng, None if p is None else np.cumsum(p).tolist())


def read_labels(path: str | Path) -> list[str]:
    """The labels of a labelled source (a folder of ``N_<label>.jpg``, one with a ``labels.tsv``, a labels file, ...),
    read as every labelled source is (:func:`lprzoo.folders.read_labelled`); a labels file needs no images beside it."""
    from lprzoo.folders import read_labelled

    return [label for _, label in read_labelled(path)]


def estimate_province_weights(labels: Iterable[str] | str | Path, smoothing: float = 1.0) -> dict[str, float]:
    """Province frequencies of real labels, with additive smoothing so unseen provinces keep a small weight.

    Args:
        labels: label strings, a ``labels.tsv`` path, or a folder of ``NNNNN_<label>.jpg`` files.
        smoothing: pseudo-count added to every province.

    Returns:
        ``{province: probability}`` over all 31 provinces, summing to 1.
    """
    if isinstance(labels, (str, Path)):
        labels = read_labels(labels)
    counts = Counter(t[0] for t in labels if t and t[0] in PROVINCES)
    total = sum(counts.values()) + smoothing * len(PROVINCES)
    if total <= 0:
        raise ValueError("no province characters among the labels and smoothing=0")
    return {c: (counts[c] + smoothing) / total for c in PROVINCES}


def plate_spec_of(text: str, specs: Iterable[str] | None = None) -> str | None:
    """The first registered plate spec (or of ``specs``, e.g. :func:`specs_of_kind`) whose grammar ``text`` fits
    (``"blue"``, ``"green"``, ...), or ``None``."""
    from lprzoo.render.specs import SPECS

    return next((name for name in (SPECS if specs is None else specs) if is_valid_plate(text, name)), None)
