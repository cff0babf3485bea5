"""``lprzoo pseudo-label``: grammar and confidence filters, labels.tsv usable as a training source."""

import json

from lprzoo.charset import Charset
from lprzoo.cli import main
from lprzoo.data.sources import read_source
from lprzoo.weights import RecognizerRecord, save_recognizer


def test_pseudo_labels_keep_only_confident_grammatical_readings(tmp_path, plate_folder, monkeypatch):
    import lprzoo.reader as reader_module

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    weights = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    files = sorted(plate_folder.glob("*.jpg"))
    fake = iter(
        [("皖A12345", 0.95), ("皖A12345", 0.5), ("AB", 0.99)] + [("苏E1234X", 0.97)] * (len(files) - 3)
    )  # a valid plate, a doubtful one, a non-plate, then confident valid readings

    def decode(self, log_probs, top_n=None, kind_logits=None, beam_width=None):
        from lprzoo.decode import Prediction

        out = []
        for _ in range(len(log_probs)):
            text, p = next(fake)
            out.append(Prediction(text, p, [p] * len(text), [(text, p)]))
        return out

    monkeypatch.setattr(reader_module.PlateReader, "decode", decode)
    out = tmp_path / "pseudo"
    args = ["pseudo-label", "--model", str(weights), "--images", str(plate_folder), "--out", str(out)]
    assert main([*args, "--batch_size", "5"]) == 0
    rows = [json.loads(line) for line in (out / "pseudo.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["decision"] for r in rows[:3]] == ["kept", "low confidence", "not a plate"]
    samples = read_source(out, Charset())
    assert len(samples) == len(files) - 2 and samples[0].label == "皖A12345"
    assert samples[0].path == str(files[0].resolve())
