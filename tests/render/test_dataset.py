"""render_to_folder: the same plates as the on-the-fly dataset, atomic and resumable folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lprzoo.errors import InvalidSampleError
from lprzoo.render import dataset as dataset_module
from lprzoo.render import read_labels, render_to_folder
from lprzoo.render.plates import ScriptPlates
from lprzoo.render.rules import is_valid_plate


def test_folder_images_equal_the_on_the_fly_dataset(tmp_path: Path) -> None:
    render_to_folder("blue", 6, tmp_path, seed=2, workers=1, image_format="png", progress=False)
    plates = ScriptPlates(6, {"blue": 1.0}, seed=2)
    for i, path in enumerate(sorted(tmp_path.glob("*.png"))):
        image, text, _ = plates[i]
        assert path.name == f"{i:07d}_{text}.png"
        assert torch.equal(torch.from_numpy(np.asarray(Image.open(path))).permute(2, 0, 1), image)
        assert is_valid_plate(text, "blue")


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir() if p.suffix == ".jpg" and not p.name.startswith(".")}


def test_render_to_folder_interrupted_then_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 30
    reference = tmp_path / "reference"
    render_to_folder("blue", n, reference, seed=5, workers=1, progress=False)

    out = tmp_path / "resumed"
    real_write, calls = dataset_module._write_image, []

    def crashing_write(path: Path, *args: object) -> None:
        calls.append(path)
        if len(calls) == 12:  # dies half-way through writing image 12: only a temporary file is left
            (path.parent / f".tmp-{path.name}").write_bytes(b"partial")
            raise KeyboardInterrupt
        real_write(path, *args)

    monkeypatch.setattr(dataset_module, "_write_image", crashing_write)
    with pytest.raises(KeyboardInterrupt):
        render_to_folder("blue", n, out, seed=5, workers=1, progress=False)
    assert len(_folder(out)) == 11 and not (out / "labels.tsv").exists()
    assert not list(out.glob(".tmp-*"))  # the interrupted render cleaned its temporary file up
    (out / f".tmp-{999:07d}_京A12345.jpg").write_bytes(b"partial")  # as a kill -9 would leave one
    monkeypatch.setattr(dataset_module, "_write_image", real_write)

    labels = render_to_folder("blue", n, out, seed=5, workers=2, chunk_size=4, progress=False, preview=out / "p.png")
    files = _folder(out)
    assert len(files) == n and files == _folder(reference)  # no duplicate, no gap, same bytes
    assert not any(p.name.startswith(".tmp-") for p in out.iterdir())
    rows = labels.read_text("utf-8").splitlines()
    assert rows[0] == "filename\tlabel" and len(rows) == n + 1
    assert [r.split("\t")[0] for r in rows[1:]] == sorted(files)
    assert read_labels(labels) == [name[8:-4] for name in sorted(files)]
    assert (out / "p.png").stat().st_size > 1000

    with pytest.raises(ValueError, match="other settings"):
        render_to_folder("blue", n, out, seed=6, progress=False)
    with pytest.raises(InvalidSampleError, match=r"index \d+ >= n="):
        render_to_folder("blue", n - 5, out, seed=5, progress=False)


def test_render_refuses_a_folder_holding_a_dataset_it_did_not_write(tmp_path: Path) -> None:
    from lprzoo.errors import InvalidSampleError

    (tmp_path / "labels.tsv").write_text("filename\tlabel\na.jpg\t京A12345\n", encoding="utf-8")
    with pytest.raises(
        InvalidSampleError, match=r"holds files this command did not write \(labels.tsv; no render.json\)"
    ):
        render_to_folder("blue", 2, tmp_path, workers=1, progress=False)
    assert (tmp_path / "labels.tsv").read_text(encoding="utf-8").endswith("京A12345\n")  # the ground truth is intact


def test_a_second_render_into_the_same_folder_refuses_while_the_first_runs(tmp_path: Path) -> None:
    from lprzoo.errors import LprzooError
    from lprzoo.folders import exclusive

    with exclusive(tmp_path / "out" / ".render.lock"):  # the first writer, as a running render holds it
        with pytest.raises(LprzooError, match=r"another lprzoo render is writing this folder"):
            render_to_folder("blue", 2, tmp_path / "out", workers=1, progress=False)
    render_to_folder("blue", 2, tmp_path / "out", workers=1, progress=False)  # once it is done, it goes ahead
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 2


def test_ctrl_c_stops_a_multi_process_render_at_once_and_the_folder_resumes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "blue"
    command = [sys.executable, "-m", "lprzoo.cli", "render", "--n", "20000", "--out", str(out), "--workers", "2"]
    # Ctrl-C as in a terminal: the child gets the default SIGINT disposition even when this test runs in a
    # background job, which starts with SIGINT ignored (and children inherit that)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("*.jpg"))) < 50:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    start = time.time()
    _, err = proc.communicate(timeout=60)
    assert time.time() - start < 10 and proc.returncode == 130, err[-2000:]
    assert "run the same command to resume" in err and "Traceback" not in err
    assert not (out / "labels.tsv").exists()  # not complete, so not labelled as complete
    assert not list(out.glob(".tmp-*"))  # no half-written image left under a plate's name or a temporary one
