"""The zoo: every record's facts are recomputed from its file, and every entry reads real crops as recorded."""

from pathlib import Path

import pytest
import yaml

import lprzoo
from lprzoo.hub import sha256_file, zoo_dir, zoo_records
from lprzoo.weights import read_weights

RECORDS = sorted(zoo_dir().glob("*.yaml"))
REQUIRED = {"name", "kind", "weights", "recipe", "git_commit", "command", "data", "metrics", "num_params",
            "file_size", "speed", "license"}  # fmt: skip
VAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "val"


def test_the_zoo_has_entries():
    assert RECORDS, "zoo/ holds no records"
    assert lprzoo.list_models(pretrained=True)


@pytest.mark.parametrize("path", RECORDS, ids=[p.stem for p in RECORDS])
def test_record_schema_and_facts(path):
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert REQUIRED <= set(record), REQUIRED - set(record)
    assert record["name"] == path.stem
    weights = zoo_dir() / record["weights"]["file"]
    assert sha256_file(weights) == record["weights"]["sha256"]
    assert weights.stat().st_size == record["file_size"]
    loaded = read_weights(record["name"])
    if record["kind"] == "recognizer":
        net, _ = lprzoo.weights.load_recognizer(record["name"])
        assert sum(p.numel() for p in net.parameters()) == record["num_params"]
        for name in ("real/val", "target/dev", "render-31"):
            assert {"RA", "CRA", "CRA-C", "CRA-NC", "top3", "plates"} <= set(record["metrics"][name])
        # the YAML repeats what the weights file carries, for readers of the YAML alone: the two agree
        _, carried = lprzoo.weights.recognizer_state(loaded)
        typed = zoo_records()[record["name"]]
        assert (typed.arch, typed.arch_kwargs, typed.charset_extra) == (
            carried.arch,
            carried.arch_kwargs,
            carried.extra_chars,
        )
        assert lprzoo.batch.InputContract.from_dict(typed.input) == carried.input
        assert not typed.extra, f"keys the typed record does not know: {sorted(typed.extra)}"
    assert loaded.path == weights


@pytest.mark.parametrize("name", sorted(n for n, r in zoo_records().items() if r.kind == "recognizer"))
def test_every_entry_reads_a_fixed_handful_of_val_crops_as_recorded(name):
    """The first 32 crops of real/val, read by each entry; the expected count is the record's, honestly low or high."""
    if not VAL.is_dir():
        pytest.skip(f"{VAL} is absent")
    from lprzoo.evaluate import evaluate, labelled_images

    reader = lprzoo.load(name)
    images, labels = labelled_images(VAL, reader.record)
    record = zoo_records()[name]
    result = evaluate(reader, images[:32], labels[:32], breakdown=False)
    assert result["plates"] == 32
    assert result["RA"] == pytest.approx(record.handful["real/val[:32]"]["RA"], abs=1e-4)


def test_list_models_and_lprzoo_zoo_agree_on_the_entries(capsys):
    from lprzoo.hub import zoo_records
    from lprzoo.zoo_table import zoo

    everything = lprzoo.list_models(pretrained=True, kind=None)
    assert everything == sorted(zoo_records())
    readers, generators = lprzoo.list_models(pretrained=True), lprzoo.list_models(pretrained=True, kind="generator")
    assert sorted(readers + generators) == everything and "cyclewgan-blue" in generators
    zoo()
    shown = capsys.readouterr().out
    assert all(name in shown for name in everything)


EVERY_PLATE = "lightcrnn-1.2-every-plate"


@pytest.mark.skipif(EVERY_PLATE not in zoo_records(), reason=f"{EVERY_PLATE} is not in the zoo")
def test_the_every_plate_reader_reads_double_row_and_green_plates_alike_through_torch_onnx_and_int8():
    """Photos of double-row and green plates (rendered at their own shape, as a camera sees them): the reader splits
    the double-row ones, and torch, ONNX fp32 and int8 give the same readings and kinds."""
    import numpy as np

    from lprzoo.render.dataset import item_rng
    from lprzoo.render.renderer import PlateRenderer

    photos, labels = [], []
    for spec, size in (("yellow-double", (96, 192)), ("yellow-trailer", (96, 192)), ("green", (48, 165))):
        renderer = PlateRenderer(spec, "none", height=size[0], width=size[1], layout="single")
        for i in range(3):
            image, text = renderer.sample(item_rng(5, i, epoch=11))
            photos.append(np.ascontiguousarray(image))
            labels.append(text)
    readings = {
        runtime: lprzoo.load(EVERY_PLATE, runtime=runtime)(photos) for runtime in ("torch", "onnx", "onnx-int8")
    }
    torch_readings = readings["torch"]
    assert [r.text for r in torch_readings] == labels  # clean photos: every one read right
    assert [r.rows for r in torch_readings] == ["double"] * 6 + ["single"] * 3
    assert [r.kind for r in torch_readings] == ["yellow-double"] * 6 + ["green"] * 3
    for runtime in ("onnx", "onnx-int8"):
        assert [(r.text, r.kind, r.rows) for r in readings[runtime]] == [
            (r.text, r.kind, r.rows) for r in torch_readings
        ], runtime
