"""Named evaluation sets with plate kinds: render-types (every spec), side files of photo kinds, RA per kind."""

import pytest
import torch

import lprzoo
from lprzoo.evaluate import RENDER_TYPES, evaluate, kind_labels, load_named
from lprzoo.kinds import PlateKind
from lprzoo.render.specs import SPECS
from lprzoo.weights import RecognizerRecord, save_recognizer


def test_render_types_holds_every_spec_with_its_exact_kind():
    record = RecognizerRecord()
    images, labels, kinds = load_named("render-types", record, with_kinds=True)
    assert images.shape == (RENDER_TYPES["per_spec"] * len(SPECS), 3, 48, 160) and images.dtype == torch.uint8
    assert {str(k) for k in kinds} == {str(SPECS.get(s).kind) for s in SPECS}
    assert any(label.endswith("应急") for label in labels) and any(label.startswith("使") for label in labels)
    again, _ = load_named("render-types", record)
    assert torch.equal(images, again)  # a fixed set


def test_the_photo_sets_kinds_come_from_their_side_files():
    known = kind_labels("target/dev")
    assert known is not None and set(known.values()) <= {PlateKind("blue"), PlateKind("yellow")}
    assert kind_labels("no/such-set") is None


def test_evaluate_gives_ra_per_spec_and_the_kind_heads_accuracy(tmp_path):
    torch.manual_seed(0)
    record = RecognizerRecord(arch="test-lightcrnn-tiny", kind_head=True, extra_chars="警学挂港澳使领应急")
    reader = lprzoo.load(str(save_recognizer(tmp_path / "k.safetensors", record.build(), record)), beam_width=2)
    images, labels, kinds = load_named("render-types", record, with_kinds=True)
    specs = [s for s in SPECS for _ in range(RENDER_TYPES["per_spec"])]
    out = evaluate(reader, images[::25], labels[::25], kinds=kinds[::25], specs=specs[::25])
    assert set(out["by_spec"]) == set(SPECS) and 0 <= out["kind_accuracy"] <= 1
    assert sum(n for _, n in out["by_kind"].values()) == len(labels[::25])
    with pytest.raises(KeyError):
        out["by_spec"]["no-such-spec"]


def test_evaluate_scores_the_reading_the_reader_returns():
    """``RA_reading`` is of what ``reader(images)`` returns, its doubtful plates read again under small moves
    included; ``RA`` stays the greedy reading's (the paper's)."""
    from lprzoo.reader import PlateReader
    from tests.conftest import TwoMinds

    record = RecognizerRecord(arch="test-lightcrnn-tiny", beam_width=5, top_n=3)
    net = TwoMinds(record.charset)
    plates = torch.full((4, 3, 48, 160), 200, dtype=torch.uint8)
    for reread_below in (0.0, 0.9):
        reader = PlateReader(net, record, reread_below=reread_below)
        read = [r.text for r in reader(plates)]
        truth = [net.second, net.second, net.first, "皖B00000"]
        out = evaluate(reader, plates, truth, breakdown=False)
        assert out["RA_reading"] == sum(a == b for a, b in zip(read, truth)) / 4
        assert out["RA"] == 0.25  # the greedy reading, 皖A12345, right once
    assert out["RA_reading"] == 0.5  # read again: 皖A12346, right twice
