"""``lprzoo explain``: confidence maps and top-N readings as pictures."""

from __future__ import annotations

import torch
from PIL import Image

from lprzoo.cli import main
from lprzoo.weights import RecognizerRecord, save_recognizer
from tests.conftest import write_plates


def test_explain_draws_a_map_per_image_and_an_index(tmp_path, caplog, capsys):
    write_plates(tmp_path / "plates", 3, size=(160, 48))
    torch.manual_seed(0)
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    weights = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    out = tmp_path / "explained"
    assert main(["explain", str(tmp_path / "plates" / "*.jpg"), "--model", str(weights), "--out", str(out)]) == 0
    pictures = sorted(out.glob("*.png"))
    assert [p.stem for p in pictures] == sorted(p.stem for p in (tmp_path / "plates").glob("*.jpg"))
    with Image.open(pictures[0]) as picture:
        # the plate above its class x step map (6 px a step), then a line per reading and the confidence's
        assert picture.width == 40 * 6 and picture.height >= 48 + 4 * 6 * 6 + 2 * 18
    index = (out / "index.md").read_text(encoding="utf-8")
    assert index.count("](") == 3 and "no operating point" in index
    caplog.clear()
    assert main(["explain", str(tmp_path / "nothing*.jpg"), "--model", str(weights), "--out", str(out)]) == 2
    assert "no image" in caplog.text and "Traceback" not in capsys.readouterr().err
