"""ONNX export: round trip with parity, int8, the ONNX Runtime reader and the benchmark command, on a tiny model."""

import csv
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import lprzoo
from lprzoo.export import export, read_onnx_record
from lprzoo.weights import RecognizerRecord, save_recognizer


@pytest.fixture
def tiny(tmp_path):
    torch.manual_seed(0)
    record = RecognizerRecord(arch="test-lightcrnn-tiny", extra_chars="警")
    return save_recognizer(tmp_path / "tiny.safetensors", record.build(), record, dtype=torch.float32)


def test_fp32_round_trip_matches_torch_and_carries_the_record(tiny, tmp_path):
    path = export(str(tiny), str(tmp_path / "tiny.onnx"))
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 48, 160]
    record, meta = read_onnx_record(path)
    assert record.extra_chars == "警" and meta["source_sha256"] and meta["charset"].endswith("警")
    torch_reader, onnx_reader = lprzoo.load(str(tiny)), lprzoo.load(str(path))
    plates = torch.randint(0, 255, (9, 3, 48, 160), dtype=torch.uint8)  # a batch size never exported
    delta = (torch_reader.log_probs(plates) - onnx_reader.log_probs(plates)).abs().max().item()
    assert delta < 1e-4
    assert [r.text for r in torch_reader(plates)] == [r.text for r in onnx_reader(plates)]


@pytest.mark.parametrize("lstm", ["fp32", "dynamic"])
def test_int8_export_is_quantized_and_reads(tiny, tmp_path, lstm):
    path = export(str(tiny), str(tmp_path / "tiny-int8.onnx"), int8=True, lstm=lstm, calibration_real=None,
                  calibration_size=32)  # fmt: skip
    graph = onnx.load(str(path)).graph
    ops = {n.op_type for n in graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert ("DynamicQuantizeLSTM" in ops) == (lstm == "dynamic")
    # the two ends stay fp32 (export.runtime.fp32_ends): their weights are plain initializers, not dequantized
    dequantized = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    linear = [n for n in graph.node if n.op_type in ("Conv", "MatMul", "Gemm")]
    first_conv, classifier = linear[0], next(n for n in linear if n.name.endswith("head/fc/MatMul"))
    assert first_conv.op_type == "Conv" and not dequantized & set(first_conv.input[:2])  # image and weights
    assert not dequantized & set(classifier.input[:2])
    assert any(dequantized & set(n.input[:2]) for n in linear[1:-1])  # the ones between are int8
    reading = lprzoo.load(str(path))(np.zeros((48, 160, 3), dtype=np.uint8))
    assert isinstance(reading.text, str)


def test_benchmark_command_on_a_tiny_model(tiny, tmp_path, plate_folder):
    from lprzoo.cli import main

    out = tmp_path / "bench"
    args = ["benchmark", "--models", str(tiny), "--runtimes", "torch,onnx", "--batch", "1,4", "--threads", "1",
            "--data", str(plate_folder), "--repeats", "2", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    rows = list(csv.DictReader((out / "results.csv").open(encoding="utf-8")))
    assert len(rows) == 4 and {r["runtime"] for r in rows} == {"torch", "onnx"}
    assert all(float(r["plates_per_s"]) > 0 and float(r["p95_ms"]) >= float(r["p50_ms"]) for r in rows)
    assert "CPU:" in (out / "results.md").read_text() and (out / "pareto.png").stat().st_size > 5000
    assert all(0 <= float(r["ECE"]) <= 1 and 0 <= float(r["coverage@99"]) <= 1 for r in rows)  # trust figures
    stem = tiny.stem
    assert {p.name for p in (out / "confidence").glob("*.png")} == {
        f"{kind}_{stem}_{runtime}.png" for kind in ("reliability", "risk_coverage") for runtime in ("torch", "onnx")
    }


@pytest.mark.parametrize("runtime, lstm_op", [("onnx", "LSTM"), ("onnx-int8-lstm-fp32", "LSTM"),
                                              ("onnx-int8", "DynamicQuantizeLSTM")])  # fmt: skip
def test_load_with_an_onnx_runtime_exports_once_into_the_cache(tiny, runtime, lstm_op):
    from lprzoo.export import OnnxNet

    reader = lprzoo.load(str(tiny), runtime=runtime)
    assert isinstance(reader.net, OnnxNet)
    ops = {n.op_type for n in onnx.load(reader.net.path).graph.node}
    assert lstm_op in ops and (("QuantizeLinear" in ops) == runtime.startswith("onnx-int8"))
    again = lprzoo.load(str(tiny), runtime=runtime)
    assert again.net.path == reader.net.path  # the cached export, not a new one


def test_calibrated_confidence_and_accepted_are_the_same_through_torch_and_onnx(tmp_path):
    """The record's calibration (temperature, operating point, re-reading of doubtful plates) travels into the ONNX
    metadata: every runtime reads calibrated confidences; fp32 ONNX gives the torch readings, confidences to 1e-3
    and the same accepted flags, the doubtful plates read again under small moves by both."""
    from lprzoo.calibration import Calibration
    from lprzoo.reader import REREAD_MARGIN

    torch.manual_seed(0)
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    record.calibration = Calibration(temperature=0.5, threshold=1e-30, curve=[[1e-30, 1.0, 1.0]], reread_below=0.5)
    weights = save_recognizer(tmp_path / "cal.safetensors", record.build(), record, dtype=torch.float32)
    plates = torch.randint(0, 255, (12, 3, 48, 160), dtype=torch.uint8)
    readers = {runtime: lprzoo.load(str(weights), runtime=runtime) for runtime in ("torch", "onnx", "onnx-int8")}
    assert {(r.temperature, r.threshold, r.reread_below) for r in readers.values()} == {(0.5, 1e-30, 0.5)}  # int8 too
    torch_readings, onnx_readings = readers["torch"](plates), readers["onnx"](plates)
    assert [r.text for r in torch_readings] == [r.text for r in onnx_readings]
    assert all(abs(a.confidence - b.confidence) < 1e-3 for a, b in zip(torch_readings, onnx_readings))
    assert all(a.raw_confidence != a.confidence for a in torch_readings if a.confidence > 0)  # calibrated
    assert [r.accepted for r in torch_readings] == [r.accepted for r in onnx_readings]
    int8 = readers["onnx-int8"]
    assert int8.confirm_below >= 0.5 + REREAD_MARGIN  # near the re-reading cut, the fp32 network decides
    doubtful = [(a, b) for a, b in zip(torch_readings, int8(plates)) if a.confidence < int8.confirm_below]
    assert doubtful and all(a.text == b.text and abs(a.confidence - b.confidence) < 1e-3 for a, b in doubtful)


def test_an_int8_reader_reads_its_doubtful_plates_again_in_fp32(tiny):
    """Below ``confirm_below`` an int8 reader's readings and confidences are the fp32 export's; above it, its own."""
    plates = torch.randint(0, 255, (16, 3, 48, 160), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    fp32 = lprzoo.load(str(tiny), runtime="onnx")(plates)
    int8 = lprzoo.load(str(tiny), runtime="onnx-int8", confirm_below=0)
    assert int8.confirm is None
    alone = int8(plates)
    cut = float(np.median([r.confidence for r in alone]))
    confirmed = lprzoo.load(str(tiny), runtime="onnx-int8", confirm_below=cut)
    assert confirmed.confirm is not None
    for own, exact, got in zip(alone, fp32, confirmed(plates)):
        expected = exact if own.confidence < cut else own
        assert (got.text, got.topn) == (expected.text, expected.topn)
        assert abs(got.confidence - expected.confidence) < 1e-6
    assert any(a.confidence != b.confidence for a, b in zip(alone, fp32))  # int8 alone is not the fp32 model


def test_export_checks_itself_on_labelled_crops(tiny, tmp_path, plate_folder, caplog, monkeypatch):
    from lprzoo.errors import LprzooError

    caplog.set_level("INFO", logger="lprzoo")
    export(str(tiny), str(tmp_path / "ok.onnx"), check=str(plate_folder))
    assert "PASS" in caplog.text and "on 12 labelled crops" in caplog.text and "12/12 readings identical" in caplog.text

    from lprzoo.evaluate import labelled_images
    from lprzoo.export import OnnxNet

    _, labels = labelled_images(str(plate_folder), RecognizerRecord())

    def read(net, images, record):  # torch reads every crop right, the export reads none: a broken export
        return ["" if isinstance(net, OnnxNet) else label for label in labels]

    monkeypatch.setattr("lprzoo.export.runtime._read", read)
    with pytest.raises(LprzooError, match=r"FAIL: .* on 12 labelled crops .* RA 0.0 % against torch 100.0 %"):
        export(str(tiny), str(tmp_path / "bad.onnx"), check=str(plate_folder))


def test_a_tampered_or_swapped_cached_export_is_exported_again_never_served(tiny, tmp_path, caplog):
    from lprzoo.hub import cache_dir

    plates = torch.randint(0, 255, (4, 3, 48, 160), dtype=torch.uint8)
    expected = [r.text for r in lprzoo.load(str(tiny), runtime="onnx")(plates)]
    (cached,) = (cache_dir() / "onnx").glob("*-onnx-v*.onnx")
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    cached.write_bytes(bytes(data))
    caplog.set_level("WARNING", logger="lprzoo")
    reader = lprzoo.load(str(tiny), runtime="onnx")
    assert "does not match its recorded sha256; exporting again" in caplog.text
    assert [r.text for r in reader(plates)] == expected
    # another model's export put in its place, with a matching stamp: its metadata names another source
    other_record = RecognizerRecord(arch="test-lightcrnn-tiny")
    other = save_recognizer(tmp_path / "other.safetensors", other_record.build(), other_record, dtype=torch.float32)
    other_path = lprzoo.load(str(other), runtime="onnx").net.path
    cached.write_bytes(Path(other_path).read_bytes())
    Path(str(cached) + ".sha256").write_text(Path(other_path + ".sha256").read_text())
    assert Path(lprzoo.load(str(tiny), runtime="onnx").net.path).read_bytes() != Path(other_path).read_bytes()


def test_concurrent_first_onnx_loads_from_threads_and_processes_agree(tiny):
    """8 threads, then 3 processes, making the same first ONNX export at once: no crash, one cache entry, the same
    readings everywhere."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from lprzoo.hub import cache_dir

    plates = torch.randint(0, 255, (4, 3, 48, 160), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda _: [r.text for r in lprzoo.load(str(tiny), runtime="onnx")(plates)], range(8)))
    assert all(t == texts[0] for t in texts)
    for entry in (cache_dir() / "onnx").glob("*"):
        entry.unlink()
    script = (
        "import sys, torch, lprzoo; generator = torch.Generator().manual_seed(1); "
        "plates = torch.randint(0, 255, (4, 3, 48, 160), dtype=torch.uint8, generator=generator); "
        "print('|'.join(r.text for r in lprzoo.load(sys.argv[1], runtime='onnx-int8')(plates)))"
    )  # fmt: skip
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tiny)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]  # fmt: skip
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-1500:] for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert len(list((cache_dir() / "onnx").glob("*.onnx"))) == 2  # the int8 export and its fp32 confirmer, once


def test_a_killed_export_leaves_no_truncated_onnx_and_a_failed_one_no_temporary_files(tiny, tmp_path, monkeypatch):
    import signal
    import subprocess
    import sys
    import time

    from lprzoo.errors import LprzooError

    target = tmp_path / "out" / "model.onnx"
    script = "import sys; from lprzoo.export import export; export(sys.argv[1], sys.argv[2], int8=True, check=None)"
    for delay in (0.5, 1.5, 3.0, 4.5):  # before, during the fp32 export, during quantization, near the end
        target.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", script, str(tiny), str(target)])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if target.exists():  # finished before the kill: then it is whole
            onnx.checker.check_model(onnx.load(str(target)))
    leftovers = [p.name for p in target.parent.iterdir() if p.name != "model.onnx"] if target.parent.exists() else []
    assert all(".partial" in name or ".prep" in name or ".static" in name for name in leftovers)  # hidden, never served

    def broken_quantize(*args, **kwargs):
        raise LprzooError("quantization failed")

    monkeypatch.setattr("lprzoo.export.runtime.quantize_int8", broken_quantize)
    folder = tmp_path / "failed"
    with pytest.raises(LprzooError):
        export(str(tiny), str(folder / "model.onnx"), int8=True, check=None)
    assert list(folder.iterdir()) == []


def test_loading_random_bytes_named_onnx_is_one_line(tmp_path):
    from lprzoo.errors import LprzooError

    (tmp_path / "random.onnx").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LprzooError, match=r"random.onnx: not an ONNX model"):
        lprzoo.load(str(tmp_path / "random.onnx"))
    with pytest.raises(LprzooError, match=r"absent.onnx: no such ONNX file"):
        lprzoo.load(str(tmp_path / "absent.onnx"))


@pytest.mark.parametrize("int8", [False, True])
def test_the_kind_head_is_exported_as_a_second_output_and_reads_alike(tmp_path, int8):
    torch.manual_seed(0)
    record = RecognizerRecord(arch="test-lightcrnn-tiny", kind_head=True)
    source = save_recognizer(tmp_path / "kinds.safetensors", record.build(), record, dtype=torch.float32)
    path = export(str(source), str(tmp_path / f"kinds-{int8}.onnx"), int8=int8, calibration_real=None,
                  calibration_size=32, check=None)  # fmt: skip
    assert [o.name for o in onnx.load(str(path)).graph.output] == ["logits", "kind_logits"]
    torch_reader, onnx_reader = lprzoo.load(str(source)), lprzoo.load(str(path))
    plates = torch.randint(0, 255, (6, 3, 48, 160), dtype=torch.uint8)
    (_, kinds_torch), (_, kinds_onnx) = torch_reader.logits_and_kind(plates), onnx_reader.logits_and_kind(plates)
    assert kinds_torch.shape == kinds_onnx.shape == (6, 7)
    assert (kinds_torch - kinds_onnx).abs().max() < (0.1 if int8 else 1e-4)
    if not int8:
        assert [r.kind for r in torch_reader(plates)] == [r.kind for r in onnx_reader(plates)]
