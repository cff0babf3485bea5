"""One checkpoint loader: records travel with weights; nothing is unpickled; bad files are one-line errors."""

import io
import os
import pickle

import pytest
import torch

import lprzoo
from lprzoo.errors import CheckpointError, LprzooError
from lprzoo.weights import RecognizerRecord, load_recognizer, read_weights, save_recognizer


def tiny(extra_chars: str = ""):
    record = RecognizerRecord(arch="test-lightcrnn-tiny", extra_chars=extra_chars, beam_width=4, top_n=3)
    return record.build().eval(), record


def test_safetensors_round_trip_rebuilds_the_network_from_the_file_alone(tmp_path):
    net, record = tiny("警")
    path = save_recognizer(tmp_path / "m.safetensors", net, record, dtype=torch.float32)
    loaded, back = load_recognizer(path)
    assert back.arch == "test-lightcrnn-tiny" and back.extra_chars == "警" and back.top_n == 3
    assert back.input.height == 48 and back.input.width == 160 and back.input.value_range == (0.0, 1.0)
    x = torch.rand(2, 3, 48, 160)
    assert torch.equal(net(x), loaded(x)) and loaded(x).shape[-1] == 69  # 67 + 警 + blank


def test_lightning_checkpoint_reads_as_the_same_record(tmp_path, plate_folder):
    from lprzoo.cli import main
    from tests.test_cli import tiny_args

    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "1")]) == 0
    net, record = load_recognizer(tmp_path / "checkpoints" / "last.ckpt")
    assert record.arch == "test-lightcrnn-tiny" and record.beam_width == 3 and not net.training


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "is a folder"),
        (os.urandom(512), "not a checkpoint"),
        ("half of a real checkpoint", "truncated or corrupt"),
    ],
    ids=["folder", "random bytes", "truncated"],
)
def test_bad_weights_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.ckpt"
    if content is None:
        path.mkdir()
    elif isinstance(content, str):
        buffer = io.BytesIO()
        torch.save({"state_dict": {"w": torch.zeros(1000)}}, buffer)
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as e:
        read_weights(path)
    assert "\n" not in str(e.value)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_a_pickle_with_code_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    buffer = io.BytesIO()
    torch.save({"state_dict": {}, "payload": _Evil()}, buffer)
    (tmp_path / "evil.ckpt").write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="refused"):
        read_weights(tmp_path / "evil.ckpt")
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(CheckpointError):
        read_weights(raw)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_unknown_name_lists_the_zoo():
    with pytest.raises(LprzooError, match="neither a file nor a zoo entry"):
        lprzoo.load("no-such-model")


def test_the_records_normalisation_is_applied_on_load(tmp_path):
    """A model saved with mean 0 / std 1 loads normalising with 0 / 1 (it used to get the default 0.5 / 0.5), and
    reads as the network it was saved from."""
    import lprzoo
    from lprzoo.batch import InputContract

    contract = InputContract(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    record = RecognizerRecord(arch="test-lightcrnn-tiny", input=contract)
    net = record.build().eval()
    assert net.mean.flatten().tolist() == [0.0, 0.0, 0.0] and net.std.flatten().tolist() == [1.0, 1.0, 1.0]
    path = save_recognizer(tmp_path / "plain.safetensors", net, record, dtype=torch.float32)
    loaded, loaded_record = load_recognizer(path)
    assert loaded_record.input == contract and loaded.std.flatten().tolist() == [1.0, 1.0, 1.0]
    x = torch.rand(2, 3, 48, 160)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x))
    reader = lprzoo.load(str(path))
    assert torch.allclose(reader.logits((x * 255).round().to(torch.uint8)), net((x * 255).round() / 255), atol=1e-5)


# ---- malformed records: one line naming the file (docs/reliability.md) --------------------------------------
def _with_metadata(path, metadata: dict[str, str]):
    from safetensors.torch import save_file

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    state = {k: v.contiguous() for k, v in record.build().state_dict().items()}
    save_file(state, str(path), metadata=metadata)
    return path


@pytest.mark.parametrize(
    "record, message",
    [
        ("{not json", "its lprzoo record is not valid JSON"),
        ('{"arch": "test-lightcrnn-tiny", "arch_kwargs": {"bogus": 1}}', "its record cannot build test-lightcrnn-tiny"),
        ('{"arch": "test-lightcrnn-tiny", "input": {"height": 0, "width": 160}}', "its lprzoo record is malformed"),
        ('{"kind": "generator", "ngf": 32, "n_blocks": 6, "size": [48, 160]}', "is a CycleGAN generator, not a plate"),
    ],
)
def test_a_malformed_record_is_one_checkpoint_error(tmp_path, record, message):
    import lprzoo
    from lprzoo.errors import CheckpointError

    path = _with_metadata(tmp_path / "bad.safetensors", {"lprzoo": record})
    with pytest.raises(CheckpointError, match=message):
        lprzoo.load(str(path))


def test_a_record_saved_before_layouts_reads_one_row_and_new_ones_keep_theirs(tmp_path):
    import json

    from lprzoo.batch import INPUT, InputContract

    old = json.loads(RecognizerRecord().to_json())
    del old["input"]["layout"], old["input"]["double_row_aspect"]
    assert RecognizerRecord.from_dict(old).input.layout == "single"
    assert RecognizerRecord.from_dict({}).input.layout == "single"
    for layout in ("rows", "rows-tight", "rows-level"):
        record = RecognizerRecord(arch="test-lightcrnn-tiny", kind_head=True, input=InputContract(layout=layout))
        path = save_recognizer(tmp_path / f"{layout}.safetensors", record.build(), record)
        net, loaded = load_recognizer(path)
        assert loaded.input.layout == layout and loaded.kind_head and net.kind_head is not None
    assert INPUT.layout == "rows-level"  # new models level a double-row plate's rows and trim its top row to its text
    assert "kind_head" not in json.loads(RecognizerRecord().to_json())  # records without one stay as they were


def test_average_is_the_mean_of_the_weights_and_refuses_other_networks(tmp_path):
    """``lprzoo average``: a model soup of recognizers of one network; its calibration is left to be fitted anew."""
    from lprzoo.calibration import Calibration
    from lprzoo.weights import average

    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        net, record = tiny("警")
        record.calibration = Calibration(temperature=2.0)
        paths.append(save_recognizer(tmp_path / f"m{seed}.safetensors", net, record, dtype=torch.float32))
    soup = average(f"{paths[0]},{paths[1]}", str(tmp_path / "soup.safetensors"))
    (a, _), (b, _), (mixed, record) = (load_recognizer(p) for p in (*paths, soup))
    for key, value in mixed.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (a.state_dict()[key] + b.state_dict()[key]) / 2, atol=1e-6), key
    assert record.extra_chars == "警" and record.calibration is None
    other = save_recognizer(tmp_path / "other.safetensors", *tiny(""), dtype=torch.float32)  # another alphabet
    with pytest.raises(LprzooError, match="not the same network"):
        average(f"{paths[0]},{other}", str(tmp_path / "bad.safetensors"))
    with pytest.raises(LprzooError, match="two or more"):
        average(str(paths[0]), str(tmp_path / "one.safetensors"))
