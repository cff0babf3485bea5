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


def test_a_file_of_the_pool_that_is_not_an_image_is_dropped_not_fatal(tmp_path, plate_folder):
    """A stray or truncated file among the unlabelled crops: every other crop is read, the file gets the decision
    ``not an image`` in pseudo.jsonl and no label (``lprzoo adapt`` reads its pool the same way)."""
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    weights = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    (plate_folder / "0000_broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "pseudo"
    args = ["pseudo-label", "--model", str(weights), "--images", str(plate_folder), "--out", str(out)]
    assert main([*args, "--min_confidence", "0.000001"]) == 0
    rows = [json.loads(line) for line in (out / "pseudo.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(list(plate_folder.glob("*.jpg")))
    (broken,) = [r for r in rows if r["source"].endswith("0000_broken.jpg")]
    assert broken["decision"] == "not an image" and broken["text"] == ""
    assert "0000_broken.jpg" not in (out / "labels.tsv").read_text(encoding="utf-8")
