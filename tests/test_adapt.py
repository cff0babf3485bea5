"""``lprzoo adapt``: the whole chain on a tiny pool with a tiny model, kill and ``--resume``, and each bad input.

The tiny model reads nothing yet, so its decoder is replaced by a fixed one (a plate per crop, confident on six of
every ten): what is tested is the chain (pseudo-labels, stopping rule, rounds, resume, the written reader, report).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lprzoo.cli import main
from lprzoo.weights import RecognizerRecord, save_recognizer
from tests.conftest import write_plates

FAKE_DECODE = textwrap.dedent(
    """
    import lprzoo.reader as reader_module
    from lprzoo.decode import Prediction

    def decode(self, log_probs, top_n=None, kind_logits=None, beam_width=None):
        out = []
        for i in range(len(log_probs)):  # a fixed reading per crop (the pool is read in one batch, in name order)
            text, p = ("皖A1234" + str(i % 10), 0.95) if i % 10 < 6 else ("苏E1234" + str(i % 10), 0.5)
            out.append(Prediction(text, p, [p] * len(text), [(text, p)]))
        return out

    reader_module.PlateReader.decode = decode
    """
)


def _fake_decode(monkeypatch) -> None:
    """FAKE_DECODE in this process, undone after the test."""
    import lprzoo.reader as reader_module

    original = reader_module.PlateReader.decode
    exec(FAKE_DECODE, {})
    patched = reader_module.PlateReader.decode
    reader_module.PlateReader.decode = original
    monkeypatch.setattr(reader_module.PlateReader, "decode", patched)  # restores the original afterwards


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, Path]:
    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    weights = save_recognizer(tmp_path / "tiny.safetensors", record.build(), record)
    write_plates(tmp_path / "source", 24, seed=1, size=(160, 48))
    write_plates(tmp_path / "pool", 12, seed=2, size=(160, 48))
    return {"start": weights, "source": tmp_path / "source", "pool": tmp_path / "pool", "root": tmp_path}


def _args(tiny: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "adapt", "--images", str(tiny["pool"]), "--out", str(out), "--start", str(tiny["start"]),
        "--source", str(tiny["source"]), "--val", str(tiny["source"]), "--min_pool", "8", "--train_size", "32",
        "--batch_size", "8", "--epochs_per_round", "2", "--num_workers", "0", "--accelerator", "cpu",
        "--progress", "false", *extra,
    ]  # fmt: skip


def test_adapt_runs_end_to_end_and_writes_a_loadable_reader_with_its_record(tiny, tmp_path, monkeypatch):
    import lprzoo

    _fake_decode(monkeypatch)
    out = tmp_path / "run"
    assert main(_args(tiny, out, "--name", "tiny-adapted", "--max_rounds", "3")) == 0
    state = json.loads((out / "adapt.json").read_text(encoding="utf-8"))
    rounds = state["rounds"]
    # round 2's pseudo-labels equal round 1's (the same fake readings): the stopping rule ends the chain there
    assert [r["trained"] for r in rounds] == [True, False]
    assert rounds[1]["changed"] == 0.0 and rounds[1]["growth"] == 0.0
    assert state["stopped"].startswith("converged before round 2")
    assert rounds[0]["kept"] == sum(1 for r in _rows(out / "round1") if r["confidence"] >= 0.9) > 0
    assert rounds[0]["steps"] == 8 and "RA" in rounds[0]["val"]
    weights = out / "tiny-adapted.safetensors"
    reader = lprzoo.load(str(weights))
    assert reader.record.arch == "test-lightcrnn-tiny"
    assert reader.record.calibration is not None and reader.record.calibration.plates == 24  # the source's val
    assert isinstance(reader(str(sorted(tiny["pool"].iterdir())[0])).text, str)
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as f:
        adaptation = json.loads(f.metadata()["adaptation"])
    assert adaptation["pool"]["count"] == 12 and len(adaptation["pool"]["sha256"]) == 64
    assert [r["kept"] for r in adaptation["rounds"]] == [rounds[0]["kept"]]
    import yaml

    entry = yaml.safe_load((out / "tiny-adapted.yaml").read_text(encoding="utf-8"))
    from lprzoo.hub import sha256_file

    assert entry["weights"]["sha256"] == sha256_file(weights) and entry["adaptation"]["stopped"] == state["stopped"]
    report = (out / "report.md").read_text(encoding="utf-8")
    for picture in ("pseudo_counts.png", "confidence.png", "readings_round1.png", "readings_round2.png"):
        assert picture in report and (out / picture).stat().st_size > 1000


def test_a_file_of_the_pool_that_is_not_an_image_does_not_end_the_adaptation(tiny, tmp_path, monkeypatch):
    _fake_decode(monkeypatch)
    (tiny["pool"] / "0000_broken.jpg").write_bytes(b"not a jpeg")  # first by name: also the report's first crop
    out = tmp_path / "run"
    assert main(_args(tiny, out, "--max_rounds", "1")) == 0
    (round1,) = json.loads((out / "adapt.json").read_text(encoding="utf-8"))["rounds"]
    assert round1["decisions"]["not an image"] == 1 and sum(round1["decisions"].values()) == 13
    assert (out / "readings_round1.png").stat().st_size > 1000


def _rows(folder: Path) -> list[dict]:
    return [json.loads(x) for x in (folder / "pseudo" / "pseudo.jsonl").read_text(encoding="utf-8").splitlines()]


def test_adapt_killed_during_training_resumes_and_ends_as_an_uninterrupted_run(tiny, tmp_path, monkeypatch):
    """SIGKILL once round 1 has a checkpoint (mid-round), then ``--resume``: the chain finishes two rounds."""
    out = tmp_path / "killed"
    args = _args(tiny, out, "--max_rounds", "2", "--stop_growth", "0", "--epochs_per_round", "3")
    slow_steps = textwrap.dedent(
        """
        import time
        from lprzoo.recognize.module import CRNNModule
        step = CRNNModule.training_step
        CRNNModule.training_step = lambda self, *a: (time.sleep(0.3), step(self, *a))[1]  # a kill lands mid-round
        """
    )
    script = FAKE_DECODE + slow_steps + f"\nimport sys\nfrom lprzoo.cli import main\nsys.exit(main({args!r}))\n"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = out / "round1" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not checkpoint.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = json.loads((out / "adapt.json").read_text(encoding="utf-8"))
    assert state["result"] is None and not state["rounds"][0]["trained"]
    # without --resume the folder is refused; with it the chain continues
    assert main(args) == 2
    _fake_decode(monkeypatch)
    assert main([*args, "--resume", "true"]) == 0
    state = json.loads((out / "adapt.json").read_text(encoding="utf-8"))
    assert [r["trained"] for r in state["rounds"]] == [True, True]
    assert [r["steps"] for r in state["rounds"]] == [12, 12]  # resumed, not restarted: the full 3 epochs x 4 steps
    assert Path(state["result"]).is_file() and state["stopped"].startswith("max_rounds")
    assert main([*args, "--resume", "true"]) == 0  # a finished adaptation resumes to its result at once


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no image folder at"),
        ("empty", "is empty"),
        ("no-images", "holds no images"),
        ("too-small", "at least 8 crops of the camera are needed"),
        ("no-out", "give --out"),
        ("nothing-to-resume", "nothing to resume"),
        ("bad-confidence", "--min_confidence in (0, 1]"),
    ],
)
def test_adapt_refuses_bad_input_in_one_line(tiny, tmp_path, caplog, case, message):
    pool = tmp_path / case
    if case == "empty":
        pool.mkdir()
    elif case == "no-images":
        pool.mkdir()
        (pool / "notes.txt").write_text("not a plate")
    elif case == "too-small":
        write_plates(pool, 3)
    elif case != "missing":
        pool = tiny["pool"]
    args = _args(tiny, tmp_path / f"out-{case}")
    args[args.index("--images") + 1] = str(pool)
    if case == "no-out":
        args[args.index("--out") + 1] = ""
    if case == "nothing-to-resume":
        args += ["--resume", "true"]
    if case == "bad-confidence":
        args += ["--min_confidence", "1.5"]
    with caplog.at_level(logging.ERROR):
        assert main(args) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0]
