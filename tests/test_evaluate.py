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
