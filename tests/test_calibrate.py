"""Calibrated confidence and the reject option: temperature scaling, thresholds for a precision, the record's trip
through every reader, and ``lprzoo calibrate``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lprzoo.batch import InputContract
from lprzoo.calibrate import fit_calibration
from lprzoo.calibration import (
    REREAD_BELOW,
    Calibration,
    coverage_at,
    expected_calibration_error,
    risk_coverage,
    threshold_for_precision,
)
from lprzoo.charset import Charset
from lprzoo.errors import LprzooError
from lprzoo.weights import RecognizerRecord, load_recognizer, save_recognizer

CHARSET = Charset()


def spelled_logits(texts: list[str], margins: list[float], steps: int = 40) -> torch.Tensor:
    """Logits ``(B, T, K)`` whose best path spells each text (a character, then a blank), ``margin`` above the rest."""
    out = torch.zeros(len(texts), steps, CHARSET.num_classes)
    for b, (text, margin) in enumerate(zip(texts, margins)):
        codes = CHARSET.encode(text)
        for t in range(steps):
            k = codes[t // 2] if t % 2 == 0 and t // 2 < len(codes) else 0
            out[b, t, k] = margin
    return out


class FakeReader:
    """What :func:`fit_calibration` needs of a reader: fixed logits per plate."""

    def __init__(self, logits: torch.Tensor) -> None:
        self._logits, self.charset, self.beam_width = logits, CHARSET, 5

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self._logits[images[:, 0, 0, 0].long()]  # the plate's index is written in its first pixel


def _plates(n: int) -> torch.Tensor:
    images = torch.zeros(n, 3, 48, 160, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(n, dtype=torch.uint8)
    return images


def test_temperature_scaling_lowers_ece_of_an_over_confident_reader():
    """Every reading near 100 % sure, 70 % of them right: the fitted temperature brings confidence to accuracy."""
    texts = ["皖A1234" + str(i % 10) for i in range(100)]
    labels = [t if i % 10 < 7 else "苏E00000" for i, t in enumerate(texts)]
    reader = FakeReader(spelled_logits(texts, [20.0] * len(texts)))
    calibration = fit_calibration(reader, _plates(len(texts)), labels, min_precision=0.99)
    assert calibration.ece_before > 0.25  # confidence ~1.0, accuracy 0.7
    assert calibration.temperature > 1.5 and calibration.ece_after < 0.03


def test_min_precision_threshold_holds_on_held_out_plates():
    """Confident readings are right, doubtful ones mixed: a threshold chosen on one half keeps 99 % on the other."""
    rng = np.random.default_rng(1)
    n = 200
    texts = ["浙B5678" + str(i % 10) for i in range(n)]
    margins = rng.uniform(6, 20, n)
    right = rng.random(n) < np.clip((margins - 6) / 8, 0, 1)  # higher margin, more often right
    labels = [t if ok else "沪C00000" for t, ok in zip(texts, right)]
    logits = spelled_logits(texts, list(margins))
    fit, held = slice(0, n // 2), slice(n // 2, n)
    calibration = fit_calibration(FakeReader(logits[fit]), _plates(n // 2), labels[fit], min_precision=0.99)
    held_reader = FakeReader(logits[held])
    from lprzoo.calibrate import top_readings

    top = top_readings(held_reader.logits(_plates(n // 2)), CHARSET, calibration.temperature, 5)
    accepted = [(text == label) for (text, p), label in zip(top, labels[held]) if p >= calibration.threshold]
    assert len(accepted) >= 10 and np.mean(accepted) >= 0.97  # held-out precision near the 99 % asked


def test_curve_threshold_and_coverage():
    confidence = [0.99, 0.98, 0.9, 0.8, 0.5]
    correct = [True, True, True, False, True]
    curve = risk_coverage(confidence, correct)
    assert curve[0] == [0.99, 1.0, 0.2] and curve[-1][2] == 1.0
    assert threshold_for_precision(curve, 0.99) == 0.9 and coverage_at(curve, 0.99) == 0.6
    assert threshold_for_precision(curve, 0.7) == 0.5
    assert expected_calibration_error([1.0, 1.0], [True, False]) == pytest.approx(0.5)


def test_calibration_travels_in_the_record_and_sets_accepted(tmp_path):
    import lprzoo

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    plain = save_recognizer(tmp_path / "plain.safetensors", record.build(), record)
    reading = lprzoo.load(str(plain))(torch.zeros(3, 48, 160, dtype=torch.uint8))
    assert reading.accepted is None and reading.raw_confidence == reading.confidence
    with pytest.raises(LprzooError, match="has no calibration"):
        lprzoo.load(str(plain), min_precision=0.99)
    calibration = Calibration(temperature=2.0, threshold=0.5, curve=[[0.9, 1.0, 0.5], [0.2, 0.9, 1.0]])
    record.calibration = calibration
    calibrated = save_recognizer(tmp_path / "cal.safetensors", record.build(), record)
    _, loaded = load_recognizer(calibrated)
    assert loaded.calibration == calibration
    reader = lprzoo.load(str(calibrated), min_precision=0.95)
    assert reader.temperature == 2.0 and reader.threshold == 0.9
    reading = reader(torch.zeros(3, 48, 160, dtype=torch.uint8))
    assert reading.accepted == (reading.confidence >= 0.9)


@pytest.mark.parametrize(
    ("plates", "min_precision", "warned"), [(500, 0.99, False), (500, 0.995, True), (100, 0.99, True)]
)
def test_a_precision_the_calibration_plates_cannot_show_is_said(tmp_path, caplog, plates, min_precision, warned):
    """With no error among n plates the error rate is only known to be below 3/n: asking for more precision than
    that still sets a threshold, with a warning that the calibration set is too small to show it."""
    import lprzoo

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    record.calibration = Calibration(plates=plates, curve=[[0.9, 1.0, 0.5], [0.2, 0.9, 1.0]])
    path = save_recognizer(tmp_path / "cal.safetensors", record.build(), record)
    with caplog.at_level("WARNING"):
        assert lprzoo.load(str(path), min_precision=min_precision).threshold == 0.9
    assert (f"cannot be shown on the {plates} calibration plates" in caplog.text) == warned


def test_calibrate_command_writes_a_calibrated_reader(tmp_path):
    from lprzoo.cli import main
    from tests.conftest import write_plates

    write_plates(tmp_path / "val", 16, size=(160, 48))
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    source = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    out = tmp_path / "tiny-cal.safetensors"
    args = ["calibrate", "--model", str(source), "--data", str(tmp_path / "val"), "--out", str(out)]
    assert main(args) == 0
    _, loaded = load_recognizer(out)
    assert loaded.calibration is not None and loaded.calibration.plates == 16
    pictures = sorted(p.name for p in (tmp_path / "tiny-cal-calibration").glob("*.png"))
    assert pictures == ["reliability_val_calibrated.png", "reliability_val_raw.png",
                        "risk_coverage_val_calibrated.png", "risk_coverage_val_raw.png"]  # fmt: skip
    assert main([*args[:-1], str(tmp_path / "x.safetensors"), "--min_precision", "1.5"]) == 2


def test_reader_writes_rejected_readings_with_their_topn_to_a_review_file(tmp_path):
    import csv

    import lprzoo
    from tests.conftest import write_plates

    write_plates(tmp_path / "plates", 6, size=(160, 48))
    torch.manual_seed(0)  # an untrained network whose six readings differ in confidence (ties split no median)
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    record.calibration = Calibration(threshold=0.5, curve=[[0.5, 1.0, 1.0]])
    weights = save_recognizer(tmp_path / "cal.safetensors", record.build(), record)
    reader = lprzoo.load(str(weights))
    readings = reader(tmp_path / "plates")
    reader.threshold = float(np.median([r.confidence for r in readings]))  # some accepted, some not
    output, review = reader.write(tmp_path / "plates", tmp_path / "out" / "readings.csv")
    assert review == tmp_path / "out" / "readings.review.csv"
    accepted = list(csv.DictReader(output.open(encoding="utf-8")))
    rejected = list(csv.DictReader(review.open(encoding="utf-8")))
    assert len(accepted) + len(rejected) == 6 and rejected and accepted
    assert {r["file"] for r in rejected} == {r.source for r in readings if r.confidence < reader.threshold}
    assert {r["file"] for r in accepted} == {r.source for r in readings if r.confidence >= reader.threshold}
    assert all(r["topn"].count(":") == len(reading.topn) for r in rejected for reading in readings[:1])
    assert not list((tmp_path / "out").glob("*.partial"))


def test_a_reader_with_views_accepts_only_readings_every_view_agrees_on(tmp_path):
    """``views``: each plate is read again under small moves; ``accepted`` needs the calibrated threshold and every
    view's agreement, the record carries the number of views, and ``lprzoo calibrate --views`` fits that rule."""
    import lprzoo
    from lprzoo.cli import main
    from tests.conftest import write_plates

    write_plates(tmp_path / "val", 8, size=(160, 48))
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    source = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    out = tmp_path / "tiny-views.safetensors"
    assert main(["calibrate", "--model", str(source), "--data", str(tmp_path / "val"), "--out", str(out),
                 "--views", "2"]) == 0  # fmt: skip
    _, loaded = load_recognizer(out)
    assert loaded.calibration is not None and loaded.calibration.views == 2
    assert loaded.calibration.reread_below == REREAD_BELOW  # new calibrations read doubtful plates again
    reader = lprzoo.load(str(out))
    assert reader.views == 2 and reader.reread_below == REREAD_BELOW
    assert lprzoo.load(str(out), reread_below=0).reread_below == 0
    readings = reader(sorted((tmp_path / "val").glob("*.jpg")))
    assert all(r.agreement in (0.0, 0.5, 1.0) for r in readings)
    scores = [r.confidence * r.agreement for r in readings]
    reader.threshold = float(np.median(scores))  # accepted: confidence x agreement at or above the operating point
    readings = reader(sorted((tmp_path / "val").glob("*.jpg")))
    assert [r.accepted for r in readings] == [s >= reader.threshold for s in scores]
    plain = lprzoo.load(str(out), views=0)(sorted((tmp_path / "val").glob("*.jpg")))
    assert [r.text for r in plain] == [r.text for r in readings] and all(r.agreement is None for r in plain)
    with pytest.raises(LprzooError, match=r"views must lie in \[0, 6\]"):
        lprzoo.load(str(out), views=7)


def test_calibrate_can_move_a_reader_to_another_layout(tmp_path):
    """``lprzoo calibrate --layout rows-level``: the reader it writes reads with that layout (its record says so);
    a layout that does not exist is a one-line error."""
    import lprzoo
    from lprzoo.cli import main
    from tests.conftest import write_plates

    write_plates(tmp_path / "val", 4, size=(160, 48))
    record = RecognizerRecord(arch="test-lightcrnn-tiny", input=InputContract(layout="rows-tight"))
    source = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    out = tmp_path / "tiny-level.safetensors"
    args = ["calibrate", "--model", str(source), "--data", str(tmp_path / "val"), "--out", str(out)]
    assert main([*args, "--layout", "rows-level"]) == 0
    assert lprzoo.load(str(out)).record.input.layout == "rows-level"
    assert load_recognizer(source)[1].input.layout == "rows-tight"  # the source is left as it was
    with pytest.raises(LprzooError, match="--layout must be one of"):
        from lprzoo.calibrate import calibrate

        calibrate(str(source), str(tmp_path / "val"), str(out), layout="rows-crooked")
