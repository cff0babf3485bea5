"""Plate grammar: sampler and validator agree, bad labels are rejected with a reason, province weights hold."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lprzoo.charset import PROVINCES
from lprzoo.render import SPECS, PlateSpec, Row, register_spec
from lprzoo.render.rules import (
    estimate_province_weights,
    explain_invalid,
    grammar,
    is_valid_plate,
    is_valid_prefix,
    parse_pattern,
    read_labels,
    sample_plate_text,
)


@pytest.mark.parametrize("spec", SPECS.list())
def test_10k_sampled_labels_are_valid(spec: str) -> None:
    rng = np.random.default_rng(0)
    labels = [sample_plate_text(spec, rng) for _ in range(10_000)]
    bad = [t for t in labels if not is_valid_plate(t, spec)]
    assert not bad, explain_invalid(bad[0], spec)
    assert all(len(t) == SPECS.get(spec).num_chars for t in labels)
    assert not any(c == "I" for t in labels for c in t)
    # O only as a police plate's authority code (粤O: a province's public-security department)
    assert not any(c == "O" for t in labels for c in (t[2:] if spec == "police" else t))
    assert len(set(labels)) > 9_900  # a real spread, not a few repeated labels
    # the same labels as the spec's patterns read as Python regexes
    regexes = [re.compile(p) for p in SPECS.get(spec).patterns]
    assert all(any(r.fullmatch(t) for r in regexes) for t in labels[:2000])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("皖A12I45", "position 4"),  # I
        ("皖AO2345", "position 2"),  # O
        ("皖I12345", "position 1"),  # I as the authority letter
        ("皖1A2345", "position 1"),  # digit where a letter must be
        ("皖AAB1C2", "3 letters"),  # three letters in the tail
        ("XA12345", "position 0"),  # not a province
        ("港A12345", "position 0"),
        ("皖A1234", "length"),
        ("皖A123456", "length"),
        ("", "length"),
    ],
)
def test_validator_rejects(text: str, why: str) -> None:
    assert not is_valid_plate(text, "blue")
    assert why in explain_invalid(text, "blue")


def test_validator_accepts_and_special_types() -> None:
    for ok in ("皖A12345", "京AB1234", "沪C8GK31", "浙JL069Z"):
        assert is_valid_plate(ok, "blue") and explain_invalid(ok, "blue") is None
    assert is_valid_plate("皖AD12345", "green") and is_valid_plate("皖AFA1345", "green")
    assert is_valid_plate("皖A12345D", "green")
    assert not is_valid_plate("皖A12345", "green")  # 7 characters
    assert not is_valid_plate("皖AA12345", "green")  # serial must start with D/F (or end with it)
    assert not is_valid_plate("皖AD1A345", "green")  # small car: only the 2nd serial character may be a letter
    assert not is_valid_plate("皖A1234DF", "green")
    assert is_valid_plate("京A0123警", "police") and not is_valid_plate("京A01234", "police")
    assert not is_valid_plate("京A012警3", "police")


def test_prefix_validity_for_constrained_decoding() -> None:
    assert is_valid_prefix("", "blue") and is_valid_prefix("皖", "blue") and is_valid_prefix("皖AB1", "blue")
    assert not is_valid_prefix("皖1", "blue") and not is_valid_prefix("皖ABCD", "blue")
    assert not is_valid_prefix("皖A123456", "blue")
    assert is_valid_prefix("皖AD", "green") and is_valid_prefix("皖A1", "green")  # small or large new-energy


def test_province_frequencies_match_weights() -> None:
    weights = {c: float(i + 1) for i, c in enumerate(PROVINCES)}  # 1 .. 31
    weights["苏"] = 0.0
    rng = np.random.default_rng(1)
    n = 31_000
    counts = np.zeros(len(PROVINCES))
    for _ in range(n):
        counts[PROVINCES.index(sample_plate_text("blue", rng, province_weights=weights)[0])] += 1
    p = np.array([weights[c] for c in PROVINCES])
    p /= p.sum()
    assert counts[PROVINCES.index("苏")] == 0
    keep = p > 0
    expected = n * p[keep]
    try:
        from scipy.stats import chisquare

        assert chisquare(counts[keep], expected).pvalue > 0.001
    except ImportError:
        stat = float(((counts[keep] - expected) ** 2 / expected).sum())
        assert stat < 58.30  # chi-square critical value, 29 degrees of freedom, alpha = 0.001


def test_uniform_provinces_by_default() -> None:
    rng = np.random.default_rng(2)
    counts = np.bincount([PROVINCES.index(sample_plate_text("blue", rng)[0]) for _ in range(9300)], minlength=31)
    assert counts.min() > 200 and counts.max() < 400  # expected 300 each


def test_estimate_province_weights(tmp_path) -> None:
    labels = ["皖A12345"] * 6 + ["浙B12345"] * 3 + ["京C12345"]
    w = estimate_province_weights(labels, smoothing=0.0)
    assert w["皖"] == pytest.approx(0.6) and w["浙"] == pytest.approx(0.3) and w["苏"] == 0.0
    assert sum(estimate_province_weights(labels).values()) == pytest.approx(1.0)
    assert estimate_province_weights(labels)["苏"] > 0  # smoothing keeps unseen provinces
    tsv = tmp_path / "labels.tsv"
    tsv.write_text("filename\tlabel\n" + "".join(f"{i}_{t}.jpg\t{t}\n" for i, t in enumerate(labels)), "utf-8")
    assert read_labels(tsv) == labels
    assert estimate_province_weights(tsv, smoothing=0.0) == w
    with pytest.raises(ValueError, match="not province"):
        sample_plate_text("blue", np.random.default_rng(0), province_weights={"X": 1.0})


def test_new_spec_is_data_not_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SPECS, "_entries", dict(SPECS._entries))  # the registration is undone after the test
    spec = PlateSpec(
        name="test-hk-style",
        colour="white",
        size_mm=(440.0, 140.0),
        background=((240, 240, 240),),
        text_color=(0, 0, 0),
        rows=(Row(top=25.0, height=90.0, widths=(45.0,) * 6, gaps=(12.0,) * 5),),
        patterns=("[A-HJ-NP-Z]{2}[0-9]{4}",),
        separator=None,
    )
    register_spec(spec)
    assert is_valid_plate("AB1234", "test-hk-style") and not is_valid_plate("A11234", "test-hk-style")
    assert is_valid_plate(sample_plate_text("test-hk-style", np.random.default_rng(0)), spec)
    with pytest.raises(ValueError, match="already registered"):
        register_spec(spec)


def test_parse_pattern() -> None:
    assert parse_pattern("[A-C]x{2}[0-1]") == ("ABC", "x", "x", "01")
    assert len(grammar("green").patterns) == 2
    with pytest.raises(ValueError):
        parse_pattern("{3}")
