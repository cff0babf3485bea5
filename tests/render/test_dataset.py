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
    assert len(list(out.glob(".tmp-*"))) == 1
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
