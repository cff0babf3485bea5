import pytest

from lprzoo.metrics import PlateMetrics, matched_positions


def test_ra_cra_split_first_and_rest():
    m = PlateMetrics(top_n=(3,))
    m.update(["京A12345", "沪A12345", "京A1234"], ["京A12345", "京A12345", "京A12345"], [["x", "y", "京A12345"]] * 3)
    out = {k: float(v) for k, v in m.compute().items()}
    assert out["RA"] == pytest.approx(1 / 3)
    # plate 2 misses the province; plate 3 misses one digit (alignment, not a shifted tail)
    assert out["CRA"] == pytest.approx((7 + 6 + 6) / 21)
    assert out["CRA-C"] == pytest.approx(2 / 3)
    assert out["CRA-NC"] == pytest.approx((6 + 6 + 5) / 18)
    assert out["top3"] == 1.0


def test_wrong_length_uses_alignment():
    assert matched_positions("京A1235", "京A12345") == {0, 1, 2, 3, 4, 6}
    assert matched_positions("京AX12345", "京A12345") == set(range(7))


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError):
        PlateMetrics().update(["a"], [])
