"""``lprzoo explain``: confidence maps and top-N readings as pictures."""

from __future__ import annotations

from PIL import Image

from lprzoo.cli import main
from lprzoo.weights import RecognizerRecord, save_recognizer
from tests.conftest import write_plates


def test_explain_draws_a_map_per_image_and_an_index(tmp_path, caplog, capsys):
    write_plates(tmp_path / "plates", 3, size=(160, 48))
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    weights = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    out = tmp_path / "explained"
    assert main(["explain", str(tmp_path / "plates" / "*.jpg"), "--model", str(weights), "--out", str(out)]) == 0
    pictures = sorted(out.glob("*.png"))
    assert [p.stem for p in pictures] == sorted(p.stem for p in (tmp_path / "plates").glob("*.jpg"))
    with Image.open(pictures[0]) as picture:
        assert picture.width >= 160 and picture.height > 48 + 40 * 8  # the plate above its class x step map
    index = (out / "index.md").read_text(encoding="utf-8")
    assert index.count("](") == 3 and "no operating point" in index
    caplog.clear()
    assert main(["explain", str(tmp_path / "nothing*.jpg"), "--model", str(weights), "--out", str(out)]) == 2
    assert "no image" in caplog.text and "Traceback" not in capsys.readouterr().err
