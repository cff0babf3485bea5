"""W&B sweeps (``recipes/sweeps/*.yaml``): every value parses as a command-line override and reaches every DDP rank.

Values set in-process through ``wandb.config`` never reach the other DDP ranks (Lightning #16836, jsonargparse
#462); the sweeps pass them on the command line (``${args}``), which every rank re-reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer

from lprzoo.cli import run_cli
from tests.conftest import write_plates

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "recipes" / "sweeps").glob("*.yaml"))
METRICS = {"val/RA", "val/CRA", "val/loss", "val/top3"}


def load(sweep: Path) -> dict[str, Any]:
    return yaml.safe_load(sweep.read_text(encoding="utf-8"))


def command_args(sweep: Path, overrides: list[str]) -> list[str]:
    """The sweep's command after ``lprzoo``, with ``${args}`` replaced by ``overrides`` (as ``wandb agent`` does)."""
    command = [str(c) for c in load(sweep)["command"]]
    out: list[str] = []
    for c in command[1:]:
        out += overrides if c == "${args}" else [c]
    return out


def values_to_try(spec: dict[str, Any]) -> list[Any]:
    """A parameter's min and max, or each of its values."""
    if "values" in spec:
        return list(spec["values"])
    if "value" in spec:
        return [spec["value"]]
    return [spec["min"], spec["max"]]


CASES = [
    pytest.param(sweep, key, value, id=f"{sweep.stem}-{key.rsplit('.', 1)[-1]}={value}")
    for sweep in SWEEPS
    for key, spec in load(sweep)["parameters"].items()
    for value in values_to_try(spec)
]


def printed_config(args: list[str], capsys) -> dict[str, Any]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run_cli([*args, "--print_config"])
    assert exit_.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)


def lookup(config: dict[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        node = node[part]
    return node


def test_there_are_sweeps_for_the_real_baseline_and_the_target_adaptation():
    assert {s.stem for s in SWEEPS} >= {"real_baseline", "adapt_target"}


@pytest.mark.parametrize("sweep", SWEEPS, ids=[s.stem for s in SWEEPS])
def test_sweep_runs_lprzoo_fit_on_a_recipe_with_every_value_on_the_command_line(sweep):
    spec = load(sweep)
    command = [str(c) for c in spec["command"]]
    assert command[:3] == ["lprzoo", "fit", "--config"] and (ROOT / command[3]).is_file()
    assert command[-1] == "${args}" and command.count("${args}") == 1
    assert spec["metric"]["name"] in METRICS and spec["metric"]["goal"] == "maximize"
    assert spec["method"] in ("grid", "random", "bayes") and spec["parameters"]
    assert not any("wandb.config" in c for c in command)


@pytest.mark.parametrize(("sweep", "key", "value"), CASES)
def test_every_sweep_value_parses_and_shows_in_the_printed_config(sweep, key, value, capsys):
    config = printed_config(command_args(sweep, [f"--{key}={value}"]), capsys)  # `${args}`: --key=value
    assert lookup(config, key) == pytest.approx(value), key


def test_real_baseline_sweep_needs_the_optimizer_class_it_names(capsys):
    """The recipe's default optimizer is a function: ``...optimizer.init_args.lr`` alone does not parse."""
    sweep = ROOT / "recipes" / "sweeps" / "real_baseline.yaml"
    args = command_args(sweep, ["--model.init_args.optimizer.init_args.lr=0.001"])
    args.remove("--model.init_args.optimizer=torch.optim.AdamW")
    with pytest.raises(SystemExit) as exit_:
        run_cli([*args, "--print_config"])
    assert exit_.value.code not in (0, None)


class RankHparams(Callback):
    """Writes what this rank trains with (optimizer lr and weight decay, augmentation degrees) to ``rank<N>.json``."""

    def __init__(self, out: str) -> None:
        self.out = out

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        optimizer = trainer.optimizers[0]
        affine = trainer.datamodule.augment.transform.transforms[1]  # PlateAugment's RandomAffine
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "pid": os.getpid(),
            "lr": optimizer.defaults["lr"],
            "weight_decay": optimizer.defaults["weight_decay"],
            "degrees": list(affine.degrees),
            "arch": pl_module.hparams.arch,
        }
        Path(self.out, f"rank{trainer.global_rank}.json").write_text(json.dumps(record), encoding="utf-8")


CALLBACK = "tests.test_sweeps.RankHparams"  # imported by each rank from the repository root


def test_ddp_two_cpu_processes_train_with_the_sweep_values(tmp_path):
    """``lprzoo fit`` as the agent launches it, under DDP (2 CPU processes, gloo): both ranks get the values."""
    data, out = tmp_path / "plates", tmp_path / "ranks"
    write_plates(data, 16)
    out.mkdir()
    sweep = ROOT / "recipes" / "sweeps" / "real_baseline.yaml"
    overrides = [  # what `${args}` expands to for one trial
        "--model.init_args.optimizer.init_args.lr=0.00123",
        "--model.init_args.optimizer.init_args.weight_decay=0.0456",
        "--data.init_args.augment.init_args.degrees=7.0",
    ]
    tiny = [  # the test's own sizing, after the sweep's command: tiny model and data, one epoch, files in tmp_path
        "--model.init_args.arch", "test-lightcrnn-tiny", "--model.init_args.beam_width", "3",
        "--data.init_args.train", str(data), "--data.init_args.val", str(data),
        "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
        "--trainer.max_epochs", "1", "--trainer.check_val_every_n_epoch", "1",
        "--trainer.default_root_dir", str(tmp_path / "run"), "--trainer.logger.init_args.save_dir", str(tmp_path),
        "--trainer.logger.init_args.offline", "true", "--trainer.enable_model_summary", "false",
        "--trainer.strategy", "ddp", "--trainer.accelerator", "cpu", "--trainer.devices", "2",
        "--trainer.callbacks+=" + json.dumps({"class_path": CALLBACK, "init_args": {"out": str(out)}}),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path),
           "WANDB_SILENT": "true", "OMP_NUM_THREADS": "1"}  # fmt: skip
    args = [sys.executable, "-m", "lprzoo.cli", *command_args(sweep, overrides), *tiny]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads((out / f"rank{r}.json").read_text(encoding="utf-8")) for r in (0, 1)]
    assert len({r["pid"] for r in records}) == 2  # two processes, each parsed its own command line
    for rank, record in enumerate(records):
        assert record["rank"] == rank and record["world_size"] == 2
        assert record["lr"] == pytest.approx(0.00123) and record["weight_decay"] == pytest.approx(0.0456)
        assert record["degrees"] == [-7.0, 7.0] and record["arch"] == "test-lightcrnn-tiny"
    assert list(tmp_path.glob("wandb/offline-run-*"))  # the sweep's W&B logger ran (offline)
