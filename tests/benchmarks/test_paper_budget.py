"""The GPU heavy-training script runs its whole chain at tiny scale on the CPU (--dry-run).

Behind the ``gpu_recipe`` marker, outside the default suite (53 s of it on 2 cores): run it before a GPU run with
``python -m pytest -m gpu_recipe``."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu_recipe

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def test_dry_run_chain_writes_small_files(tmp_path):
    if not (SHARED / "target" / "unlabelled").is_dir():
        pytest.skip("../shared/data is absent")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu/paper_budget.py", "--bundle", str(tmp_path / "no-bundle"), "--out", str(out),
         "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert proc.returncode == 0, json.dumps(summary["stages"][-1], indent=1)[-3000:]
    stages = ["gan", "translate", "pretrain", "finetune", "real-lightcrnn-1.0", "real-crnn-resnet18"]
    assert [s["stage"] for s in summary["stages"]] == stages
    files = [out / name for name in summary["files"]]
    assert len(files) <= 8 and all(f.stat().st_size <= 16 * 2**20 for f in files)
    import lprzoo
    from lprzoo.refine.generators import load_generator

    load_generator(out / "cyclewgan-target.safetensors")
    assert lprzoo.load(str(out / "lightcrnn-1.2-gpu.safetensors")).record.arch == "test-lightcrnn-tiny"
    assert lprzoo.load(str(out / "crnn-resnet18-real.safetensors")).charset is not None  # the zoo's real-only entries
