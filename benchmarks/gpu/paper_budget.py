"""Heavy training in one call on one GPU (issue adapt-target, item 7): the paper's GAN budget, then the recognizers.

    # here (CPU, with ../shared/data): bundle the wheels and the data the GPU machine lacks (ignored by git)
    python benchmarks/gpu/paper_budget.py --prepare gpu_bundle
    # on the GPU machine (torch + lightning present; no jsonargparse, fonts or ../shared), in the repo root:
    python benchmarks/gpu/paper_budget.py --bundle gpu_bundle --out $OUT
    # the same chain at tiny scale on the CPU (tests/benchmarks/test_paper_budget.py runs it):
    python benchmarks/gpu/paper_budget.py --bundle gpu_bundle --out /tmp/out --dry-run

Stages, each a plain ``lprzoo`` command (the same CLI users run), in ``$OUT/work``:

1. CycleWGAN rendered -> target camera (``target/unlabelled``), label keeping on (frozen zoo ``lightcrnn-1.2-script``),
   at the paper's budget: 30 epochs of 4,500 pairs, 5 critic steps per generator step, ngf = ndf = 64 at the
   plate's 48x160; batch 16 instead of the paper's 1 so that the 135,000 pairs fit the time (§III-A, §IV-C).
2. ``lprzoo translate`` 50,000 renders with the last 5 epochs as a snapshot ensemble (§IV-C).
3. LightCRNN-1.2 pre-trained on the translated plates (Table IV "CycleWGAN"), then fine-tuned on real/train
   blended with renders and translated plates (recipes/adapt_target.yaml), both at full budget.
4. The zoo's real-only ``lightcrnn-1.0-real`` and ``crnn-resnet18-real`` at recipes/real_baseline.yaml's full
   70 epochs (``lprzoo publish --ckpt_path $OUT/<name>.safetensors ...`` then replaces the CPU-budget entries).

It writes at most 8 files of at most 16 MiB into ``--out`` (fp16 safetensors with their lprzoo records, and
``summary.json`` with every command, its wall time and the final metrics), so they travel back easily.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_PARTS = ("real/train", "real/val", "target/unlabelled", "target/dev")
WHEELS = ["jsonargparse[signatures]", "docstring-parser", "typeshed-client", "noto-cjk-sans-jp-bold",
          "fontpkg-barlow-condensed", "fontpkg-saira-condensed", "fontpkg-rajdhani", "fontpkg-oswald",
          "fontpkg-roboto-condensed", "fontpkg-pt-sans-narrow", "safetensors", "rich", "opencv-python-headless",
          "timm", "torchmetrics"]  # fmt: skip
MAX_FILE = 16 * 2**20
# the zoo's real-only recognizers retrained at the recipe's full 70 epochs (issue zoo); crnn-real is left out: its
# 9.8 M parameters are 19.6 MB in fp16, over the 16 MiB a returned file may have
REAL_ONLY = ("lightcrnn-1.0", "crnn-resnet18")


def prepare(bundle: Path, shared: Path) -> None:
    """Copy the data and download the wheels the GPU machine lacks into ``bundle`` (carry it with the tree)."""
    for part in DATA_PARTS:
        target = bundle / "data" / part
        if not target.is_dir():
            shutil.copytree(shared / part, target)
    wheels = bundle / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), *WHEELS],
                   check=True)  # fmt: skip
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    print(f"bundle {bundle}: {size / 2**20:.1f} MiB (the device tool carries up to 64 MiB)")


def install(bundle: Path) -> None:
    try:
        import jsonargparse  # noqa: F401

        import lprzoo  # noqa: F401
    except ImportError:
        wheels = bundle / "wheels"
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels)]
        subprocess.run([*pip, *[str(w) for w in wheels.glob("*.whl")]], check=True)
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)


def stages(data: Path, work: Path, dry: bool, accelerator: str) -> list[tuple[str, list[str]]]:
    """The chain as ``(name, lprzoo arguments)``; ``dry`` shrinks every budget to a few steps on the CPU."""
    trainer = ["--trainer.accelerator", accelerator, "--trainer.devices", "1", "--trainer.enable_progress_bar", "false"]
    gan_budget = (["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "10", "--data.init_args.train_size",
                   "40", "--model.init_args.ngf", "8", "--model.init_args.ndf", "8", "--data.init_args.num_workers",
                   "0", "--model.init_args.label_keeper", "null"]
                  if dry else
                  ["--trainer.max_epochs", "30", "--data.init_args.train_size", "4500", "--model.init_args.ngf", "64",
                   "--model.init_args.ndf", "64", "--data.init_args.batch_size", "16", "--data.init_args.num_workers",
                   "8"])  # fmt: skip
    n_translate, snapshots = ("16", "1") if dry else ("50000", "5")
    rec_budget = (["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches",
                   "1", "--model.init_args.arch", "test-lightcrnn-tiny", "--data.init_args.num_workers", "0",
                   "--data.init_args.batch_size", "8"]
                  if dry else
                  ["--data.init_args.batch_size", "128", "--data.init_args.num_workers", "8"])  # fmt: skip
    return [
        ("gan", ["fit", "--config", "recipes/cyclewgan_target.yaml", "--data.init_args.real",
                 str(data / "target/unlabelled"), "--trainer.default_root_dir", str(work / "gan"), *trainer,
                 *gan_budget]),
        ("translate", ["translate", "--generator", str(work / "gan" / "checkpoints"), "--snapshots", snapshots,
                       "--n", n_translate, "--out", str(work / "translated"), "--spec", "blue"]),
        ("pretrain", ["fit", "--config", "recipes/gan_only.yaml", "--data.init_args.folder", str(work / "translated"),
                      "--data.init_args.val", str(data / "real/val"), "--data.init_args.test", str(data / "target/dev"),
                      "--trainer.default_root_dir", str(work / "pretrain"), *trainer, *rec_budget]),
        ("finetune", ["fit", "--config", "recipes/adapt_target.yaml",
                      "--data.init_args.train", str(data / "real/train"),
                      "--data.init_args.val", str(data / "real/val"), "--data.init_args.test", str(data / "target/dev"),
                      "--data.init_args.translated", str(work / "translated"), "--data.init_args.translated_weight",
                      "0.25", "--model.init_args.init_from", str(work / "pretrain/checkpoints/last.ckpt"),
                      "--trainer.default_root_dir", str(work / "finetune"), *trainer, *rec_budget]),
    ] + [
        (f"real-{arch}", ["fit", "--config", "recipes/real_baseline.yaml", "--model.init_args.arch", arch,
                          "--data.init_args.train", str(data / "real/train"), "--data.init_args.val",
                          str(data / "real/val"), "--trainer.max_time", "null",
                          "--trainer.default_root_dir", str(work / f"real-{arch}"), *trainer, *rec_budget])
        for arch in REAL_ONLY
    ]  # fmt: skip


def export(work: Path, out: Path) -> list[Path]:
    """fp16 safetensors of the generator (last epoch) and both recognizers, each under 16 MiB."""
    import torch

    from lprzoo.refine.generators import save_generator
    from lprzoo.weights import load_recognizer, save_recognizer

    written = [out / "cyclewgan-target.safetensors"]
    save_generator(work / "gan/checkpoints/last.ckpt", written[0])
    for stage, name in (("pretrain", "lightcrnn-1.2-cyclewgan-target-pretrain"), ("finetune", "lightcrnn-1.2-gpu")):
        net, record = load_recognizer(work / stage / "checkpoints/last.ckpt")
        written.append(save_recognizer(out / f"{name}.safetensors", net, record, dtype=torch.float16))
    for arch in REAL_ONLY:
        net, record = load_recognizer(work / f"real-{arch}" / "checkpoints/last.ckpt")
        written.append(save_recognizer(out / f"{arch}-real.safetensors", net, record, dtype=torch.float16))
    for path in written:
        if path.stat().st_size > MAX_FILE:
            raise SystemExit(f"{path} is {path.stat().st_size / 2**20:.1f} MiB > 16 MiB")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepare", type=Path, help="write the bundle (data + wheels) here and stop")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--bundle", type=Path, default=ROOT / "gpu_bundle")
    parser.add_argument("--out", type=Path, required=False)
    parser.add_argument("--dry-run", action="store_true", help="the same chain at tiny scale on the CPU")
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare, args.shared)
        return
    if args.out is None:
        parser.error("--out is required")
    install(args.bundle)
    data = args.bundle / "data" if (args.bundle / "data").is_dir() else args.shared
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    accelerator = "cpu" if args.dry_run else "gpu"
    summary = {"dry_run": args.dry_run, "stages": []}
    for name, lprzoo_args in stages(data, work, args.dry_run, accelerator):
        start = time.time()
        command = [sys.executable, "-m", "lprzoo.cli", *lprzoo_args]
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = round(time.time() - start)
        summary["stages"].append({"stage": name, "command": " ".join(command[2:]), "seconds": seconds,
                                  "returncode": proc.returncode, "log_tail": proc.stderr[-1500:]})  # fmt: skip
        print(f"{name}: rc {proc.returncode} in {time.time() - start:.0f} s", flush=True)
        if proc.returncode != 0:
            break
    else:
        summary["files"] = [str(p.name) for p in export(work, args.out)]
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    if not args.dry_run:
        shutil.rmtree(work, ignore_errors=True)  # only the <= 8 small files travel back
    if any(s["returncode"] for s in summary["stages"]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
