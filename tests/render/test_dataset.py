"""RenderedPlates and render_to_folder: worker-count independence, resumable folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from lprzoo.render import RenderedPlates, read_labels, render_to_folder
from lprzoo.render import dataset as dataset_module
from lprzoo.render.rules import is_valid_plate


def _all(ds: RenderedPlates, workers: int) -> tuple[torch.Tensor, list[str], list[str]]:
    images, texts, paths = [], [], []
    for img, text, path in DataLoader(ds, batch_size=5, num_workers=workers, shuffle=False):
        images.append(img)
        texts += text
        paths += path
    return torch.cat(images), texts, paths


def test_items_identical_across_worker_counts() -> None:
    ds = RenderedPlates(length=20, seed=3)
    img0, txt0, paths0 = _all(ds, 0)
    img2, txt2, _ = _all(ds, 2)
    assert img0.shape == (20, 3, 48, 160) and img0.dtype == torch.uint8
    assert torch.equal(img0, img2) and txt0 == txt2
    assert paths0[4] == "render:4" and all(is_valid_plate(t, "blue") for t in txt0)
    assert torch.equal(ds[7][0], img0[7])  # random access gives the same item


def test_seed_and_epoch_change_items() -> None:
    a, b = RenderedPlates(4, seed=0), RenderedPlates(4, seed=1)
    assert a[0][1] != b[0][1] or not torch.equal(a[0][0], b[0][0])
    first = a[2]
    a.set_epoch(1)
    assert not torch.equal(a[2][0], first[0])
    a.set_epoch(0)
    assert torch.equal(a[2][0], first[0])
    with pytest.raises(IndexError):
        a[4]


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
    with pytest.raises(FileExistsError, match="index >= n"):
        render_to_folder("blue", n - 5, out, seed=5, progress=False)
