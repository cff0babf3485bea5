"""``translate`` (paper §IV-C): labelled GAN folders, resume after a kill, snapshot ensembles, clear errors."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest
import torch
from PIL import Image

from lprzoo.errors import CheckpointError, InvalidSampleError
from lprzoo.refine import CycleGANModule
from lprzoo.refine import translate as translate_module
from lprzoo.refine.generators import load_generator, resolve_generators
from lprzoo.refine.samples import to_uint8
from lprzoo.refine.translate import TranslationWriter, translate
from lprzoo.render.plates import ScriptPlates

N, SPEC, SEED = 12, "blue", 3


def save_cyclegan(path: Path, seed: int = 0, epoch: int = 0) -> Path:
    """A tiny ``CycleGANModule`` checkpoint (ngf=4, one block) whose ``epoch`` is set, without training."""
    torch.manual_seed(seed)
    model = CycleGANModule(ngf=4, ndf=4, n_blocks=1)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.save_checkpoint(path, weights_only=False)  # a full checkpoint, as ModelCheckpoint writes
    ckpt = torch.load(path, weights_only=True)
    ckpt["epoch"], ckpt["global_step"] = epoch, 10 * (epoch + 1)
    torch.save(ckpt, path)
    return path


def test_a_generator_trained_at_128x128_refines_plates_at_that_size(tmp_path):
    path = save_cyclegan(tmp_path / "square.ckpt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["datamodule_hyper_parameters"] = {"size": [128, 128]}  # the paper's setting, as LightningCLI saves it
    torch.save(ckpt, path)
    G = load_generator(path)
    seen = []
    G.generator.register_forward_pre_hook(lambda _, args: seen.append(tuple(args[0].shape[-2:])))
    out = G(torch.rand(2, 3, 48, 160) * 2 - 1)
    assert seen == [(128, 128)] and out.shape == (2, 3, 48, 160) and out.abs().max() <= 1
    assert not isinstance(load_generator(save_cyclegan(tmp_path / "native.ckpt")), type(G))  # 48x160: G itself


def read_folder(out: Path) -> dict[int, tuple[str, np.ndarray]]:
    """Index -> (label, uint8 (H, W, 3)) of the finished images."""
    images = {}
    for p in sorted(out.glob("*.png")):
        index, label = p.stem.split("_", 1)
        assert int(index) not in images, f"duplicate index {index}"
        images[int(index)] = (label, np.asarray(Image.open(p).convert("RGB")))
    return images


def expected(generator: torch.nn.Module, i: int) -> np.ndarray:
    """``G(render i)`` as ``uint8 (H, W, 3)``."""
    image, _, _ = ScriptPlates(N, {SPEC: 1.0}, seed=SEED)[i]
    with torch.no_grad():
        fake = generator(image[None].float().div(127.5).sub(1.0))  # (1, 3, 48, 160)
    return to_uint8(fake)[0].permute(1, 2, 0).numpy()


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())


def run(generator, out: Path, **kwargs) -> Path:
    args = {"n": N, "spec": SPEC, "seed": SEED, "batch_size": 4, "num_workers": 0, "progress": False}
    return translate(generator, str(out), **(args | kwargs))


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_cyclegan(tmp_path / "gan" / "g.ckpt")


@pytest.fixture
def restore_sigint():
    """Lightning ignores SIGINT after a KeyboardInterrupt (to shut down gracefully); give it back to pytest."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def test_writes_n_labelled_images_with_the_render_labels(tmp_path, ckpt):
    out = tmp_path / "out"
    labels = run(str(ckpt), out, preview=str(tmp_path / "preview.png"))
    images = read_folder(out)
    assert sorted(images) == list(range(N))
    renders = ScriptPlates(N, {SPEC: 1.0}, seed=SEED)
    G = load_generator(ckpt)
    for i, (label, pixels) in images.items():
        assert label == renders[i][1]
        assert pixels.shape == (48, 160, 3) and pixels.dtype == np.uint8
        assert max_diff(pixels, expected(G, i)) <= 1  # G(render i), up to rounding
    rows = labels.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "filename\tlabel" and len(rows) == N + 1
    assert rows[1].split("\t") == [f"0000000_{renders[0][1]}.png", renders[0][1]]
    assert (out / "translate.json").is_file() and (tmp_path / "preview.png").stat().st_size > 1000
    assert not list(out.glob(".tmp-*"))


def test_killed_run_resumes_without_lost_or_duplicated_images(tmp_path, ckpt, monkeypatch, restore_sigint):
    out = tmp_path / "out"
    original = TranslationWriter.write_on_batch_end
    calls = {"n": 0}

    def crash_on_second_batch(self, trainer, pl_module, prediction, *args):
        calls["n"] += 1
        if calls["n"] == 2:  # half of the batch reaches the disk, then Ctrl-C
            half = {k: v[:2] for k, v in prediction.items()}
            original(self, trainer, pl_module, half, *args)
            raise KeyboardInterrupt
        original(self, trainer, pl_module, prediction, *args)

    monkeypatch.setattr(TranslationWriter, "write_on_batch_end", crash_on_second_batch)
    with pytest.raises(SystemExit):  # Lightning turns Ctrl-C into a graceful exit(1)
        run(str(ckpt), out)
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert len(first) == 6 and not (out / "labels.tsv").exists()
    (out / ".tmp-999-0000011_京A00000.png").write_bytes(b"half-written")  # a kill during a write

    monkeypatch.setattr(TranslationWriter, "write_on_batch_end", original)
    written = []
    real_write = translate_module.write_image

    def spy(path: Path, image: torch.Tensor) -> None:
        written.append(path.name)
        real_write(path, image)

    monkeypatch.setattr(translate_module, "write_image", spy)
    run(str(ckpt), out)
    assert len(written) == N - 6 and not set(written) & set(first)  # only the missing indices
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.png") if p.name in first} == first
    images = read_folder(out)
    assert sorted(images) == list(range(N)) and not list(out.glob(".tmp-*"))
    assert len((out / "labels.tsv").read_text(encoding="utf-8").splitlines()) == N + 1

    clean = tmp_path / "clean"
    run(str(ckpt), clean)
    for i, (label, pixels) in read_folder(clean).items():
        assert images[i][0] == label and max_diff(images[i][1], pixels) <= 1

    written.clear()
    run(str(ckpt), out)  # a finished folder is a no-op
    assert not written


def test_snapshot_ensemble_uses_the_last_k_epochs(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    ckpts = [save_cyclegan(folder / f"best-epoch={e:03d}-step={10 * (e + 1)}.ckpt", seed=e, epoch=e) for e in range(3)]
    shutil.copy(ckpts[-1], folder / "last.ckpt")
    assert resolve_generators(str(folder), 2) == ckpts[1:]
    assert resolve_generators(str(tmp_path / "run"), 2) == ckpts[1:]  # the run root works too

    out = tmp_path / "out"
    run(str(tmp_path / "run"), out, snapshots=2)
    generators = [load_generator(p) for p in ckpts[1:]]
    for i, (_, pixels) in read_folder(out).items():
        right, wrong = generators[i % 2], generators[(i + 1) % 2]
        assert max_diff(pixels, expected(right, i)) <= 1
        assert np.abs(pixels.astype(int) - expected(wrong, i).astype(int)).mean() > 2

    list_out = tmp_path / "list"
    run([str(p) for p in ckpts[1:]], list_out)  # an explicit list gives the same ensemble
    assert all(max_diff(a[1], b[1]) <= 1 for a, b in zip(read_folder(out).values(), read_folder(list_out).values()))


def test_missing_checkpoint_names_the_command(tmp_path):
    for generator in (str(tmp_path / "nope.ckpt"), [str(tmp_path / "nope.ckpt")], str(tmp_path)):
        with pytest.raises(
            FileNotFoundError, match="no generator checkpoint at .*lprzoo fit --config recipes/cyclewgan"
        ):
            run(generator, tmp_path / "out")


def test_too_few_snapshots_and_other_settings_are_refused(tmp_path, ckpt):
    with pytest.raises(InvalidSampleError, match="holds 1 epoch checkpoints but snapshots=3"):
        resolve_generators(str(ckpt.parent), 3)
    with pytest.raises(ValueError, match="needs a folder"):
        resolve_generators(str(ckpt), 2)
    out = tmp_path / "out"
    run(str(ckpt), out, n=4)
    with pytest.raises(InvalidSampleError, match=r"other settings \(seed differ\)"):
        run(str(ckpt), out, n=4, seed=SEED + 1)
    other = save_cyclegan(tmp_path / "other.ckpt", seed=1)
    with pytest.raises(InvalidSampleError, match="generators_sha256"):
        run(str(other), out, n=4)
    with pytest.raises(InvalidSampleError, match="index [23] >= n=2"):
        run(str(ckpt), out, n=2)


def test_a_file_that_is_not_a_cyclegan_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.ckpt: not a checkpoint"):
        run(str(tmp_path / "junk.ckpt"), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written, so a rerun with the right checkpoint is not refused


def test_command_line(tmp_path, ckpt, monkeypatch, caplog):
    """``lprzoo translate ...`` through ``lprzoo.cli.main`` (``COMMANDS["translate"] = translate``)."""
    from lprzoo import cli

    monkeypatch.setitem(cli.COMMANDS, "translate", translate)
    out = tmp_path / "out"
    args = ["translate", "--generator", str(ckpt), "--out", str(out), "--n", "4", "--batch_size", "4"]
    assert cli.main([*args, "--num_workers", "0", "--progress", "false"]) == 0
    assert len((out / "labels.tsv").read_text(encoding="utf-8").splitlines()) == 5
    assert cli.main(["translate", "--generator", str(tmp_path / "nope.ckpt"), "--out", str(out)]) == 2
    assert "no generator checkpoint at" in caplog.text and "recipes/cyclewgan.yaml" in caplog.text


def test_a_larger_n_extends_the_folder(tmp_path, ckpt):
    out = tmp_path / "out"
    run(str(ckpt), out, n=4)
    run(str(ckpt), out, n=6)
    assert sorted(read_folder(out)) == list(range(6))
    assert len((out / "labels.tsv").read_text(encoding="utf-8").splitlines()) == 7


def test_ddp_ranks_share_the_indices(tmp_path, ckpt):
    """Two CPU processes (``strategy=ddp``): each writes its share, rank 0 writes labels.tsv after both finish."""
    script = tmp_path / "run_translate.py"
    script.write_text(
        "import logging, torch\n"
        "torch.set_num_threads(1)\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from lprzoo.refine.translate import translate\n"
        f"translate({str(ckpt)!r}, {str(tmp_path / 'out')!r}, n={N}, batch_size=2, num_workers=0, devices=2,\n"
        "          strategy='ddp', progress=False)\n"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"rank 0 wrote {N // 2} images" in proc.stderr and f"rank 1 wrote {N // 2} images" in proc.stderr
    assert sorted(read_folder(tmp_path / "out")) == list(range(N))
    assert len((tmp_path / "out" / "labels.tsv").read_text(encoding="utf-8").splitlines()) == N + 1


def test_a_zoo_generator_by_name(tmp_path, monkeypatch):
    """`lprzoo translate --generator NAME` takes a zoo generator (fp16 safetensors with its record)."""
    import json

    from safetensors.torch import save_file

    from lprzoo.hub import sha256_file
    from lprzoo.refine.networks import ResnetGenerator
    from lprzoo.weights import METADATA_KEY

    zoo = tmp_path / "zoo"
    zoo.mkdir()
    G = ResnetGenerator(3, 3, ngf=8, n_blocks=2)
    meta = {"kind": "generator", "ngf": 8, "n_blocks": 2, "size": [48, 160]}
    save_file({k: v.half() for k, v in G.state_dict().items()}, zoo / "tiny-gen.safetensors",
              metadata={METADATA_KEY: json.dumps(meta)})  # fmt: skip
    (zoo / "tiny-gen.yaml").write_text(
        f"name: tiny-gen\nkind: generator\nweights:\n  file: tiny-gen.safetensors\n"
        f"  sha256: {sha256_file(zoo / 'tiny-gen.safetensors')}\n"
    )
    monkeypatch.setenv("LPRZOO_ZOO", str(zoo))
    (path,) = resolve_generators("tiny-gen")
    assert path == zoo / "tiny-gen.safetensors"
    loaded = load_generator("tiny-gen")
    x = torch.rand(1, 3, 48, 160) * 2 - 1
    assert loaded(x).shape == (1, 3, 48, 160)
