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


def test_confidence_metrics_give_ece_and_coverage_at_a_precision():
    from lprzoo.metrics import ConfidenceMetrics

    metric = ConfidenceMetrics()
    metric.update([0.99] * 90, [True] * 90)
    metric.update([0.6] * 10, [True] * 5 + [False] * 5)  # the doubtful tenth: half wrong
    figures = {k: float(v) for k, v in metric.compute().items()}
    assert abs(figures["coverage@99"] - 0.9) < 1e-6  # the 90 sure readings, all right, are accepted
    assert abs(figures["ECE"] - (90 * 0.01 + 10 * 0.1) / 100) < 1e-6
    assert abs(figures["mean_confidence"] - 0.951) < 1e-6
