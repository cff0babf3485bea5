"""The ``lprzoo`` command: recipes parse, fit/validate/predict run, runs resume, DDP reduces metrics."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lprzoo.cli import main, run_cli
from tests.conftest import write_plates

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.yaml"))
LPRZOO = [sys.executable, "-m", "lprzoo.cli"]


def tiny_args(root: Path, data: Path, *extra: str) -> list[str]:
    return [
        "--model", "lprzoo.CRNNModule", "--model.arch", "test-lightcrnn-tiny", "--model.beam_width", "3",
        "--data", "lprzoo.RealPlatesDataModule", "--data.train", str(data), "--data.val", str(data),
        "--data.batch_size", "4", "--data.num_workers", "0",
        "--trainer.default_root_dir", str(root), "--trainer.enable_model_summary", "false",
        *extra,
    ]  # fmt: skip


def metrics_rows(root: Path) -> list[dict[str, str]]:
    rows = []
    for f in sorted((root / "logs").glob("version_*/metrics.csv")):
        rows += list(csv.DictReader(f.open()))
    return rows


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.name for r in RECIPES])
def test_every_recipe_parses_and_instantiates_what_it_says(recipe):
    import yaml

    spec = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    text = recipe.read_text(encoding="utf-8")
    assert "precision:" not in text, "the machine chooses the precision (lprzoo.precision), never a recipe"
    assert "total_steps" not in text, "schedules take their length from the trainer"
    cli = run_cli(["--config", str(recipe), "--trainer.logger", "false"], run=False)
    assert type(cli.model).__name__ == spec["model"]["class_path"].rsplit(".", 1)[-1]
    assert type(cli.datamodule).__name__ == spec["data"]["class_path"].rsplit(".", 1)[-1]
    for key, value in (spec["model"].get("init_args") or {}).items():
        if not isinstance(value, dict):  # plain values arrive as the model's hyper-parameters
            assert cli.model.hparams[key] == value, key
    assert cli.trainer.max_epochs == spec["trainer"].get("max_epochs", cli.trainer.max_epochs)


RECOGNIZER_RECIPES = [r for r in RECIPES if "CRNNModule" in r.read_text(encoding="utf-8")]


@pytest.mark.parametrize("recipe", RECOGNIZER_RECIPES, ids=[r.name for r in RECOGNIZER_RECIPES])
def test_every_recognizer_recipe_survives_epoch_and_batch_overrides(recipe, tmp_path, plate_folder):
    """`--trainer.max_epochs 3 --data.batch_size 16` used to crash hand-computed OneCycleLR lengths."""
    text = recipe.read_text(encoding="utf-8")
    extra = [
        "--model.init_args.arch",
        "test-lightcrnn-tiny",
        "--model.init_args.arch_kwargs",
        "null",
        "--model.init_args.init_from",
        "null",
    ]
    if "../shared/data" in text and not (Path("..") / "shared" / "data" / "real").is_dir():
        pytest.skip("../shared/data is absent")
    if "GANGeneratedDataModule" in text:
        write_plates(tmp_path / "gan", 40)  # 2 full batches of 16
        extra += ["--data.init_args.folder", str(tmp_path / "gan"), "--data.init_args.val", str(plate_folder)]
    if "MixedDataModule" in text:
        extra += ["--data.init_args.num_generated", "0"]
    if "BlendedDataModule" in text:
        extra += ["--data.init_args.pseudo", "null"]
    if "ScriptDataModule" in text:
        extra += ["--data.init_args.val_size", "32"]
    args = ["fit", "--config", str(recipe), "--trainer.max_epochs", "3", "--data.batch_size", "16",
            "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1", "--data.init_args.num_workers",
            "0", "--trainer.default_root_dir", str(tmp_path / "run"), "--trainer.logger", "false",
            "--trainer.enable_progress_bar", "false", "--trainer.max_time", "null", *extra]  # fmt: skip
    assert main(args) == 0
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6


def test_print_config_and_overrides(capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(["fit", "--config", "recipes/real_baseline.yaml", "--trainer.max_epochs", "3", "--print_config"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "max_epochs: 3" in out and "arch: lightcrnn-1.2" in out


def test_progress_bar_can_be_switched_off(tmp_path, plate_folder):
    """Batch jobs and log files want no live progress bar; the default Rich bar must not force one."""
    root = tmp_path / "run"
    args = tiny_args(root, plate_folder, "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false")
    cli = run_cli(args, run=False)
    assert cli.trainer.progress_bar_callback is None


def test_fit_then_predict_writes_csv_and_jsonl(tmp_path, plate_folder):
    root = tmp_path / "run"
    assert main(["fit", *tiny_args(root, plate_folder, "--trainer.max_epochs", "2")]) == 0
    ckpt = root / "checkpoints" / "last.ckpt"
    assert ckpt.is_file() and (root / "samples" / "epoch001.png").is_file()
    val = [r for r in metrics_rows(root) if r.get("val/RA")]
    assert val and float(val[-1]["val/plates"]) == 12
    assert torch.load(ckpt, weights_only=True)["charset"].startswith("京津冀")

    for out in ("preds.csv", "preds.jsonl"):
        code = main(
            ["predict", "--ckpt_path", str(ckpt), "--data", "lprzoo.RealPlatesDataModule",
             "--data.predict", str(plate_folder), "--data.num_workers", "0",
             "--predict_writer.output", str(tmp_path / out), "--trainer.default_root_dir", str(root)]
        )  # fmt: skip
        assert code == 0
    rows = list(csv.DictReader((tmp_path / "preds.csv").open(encoding="utf-8")))
    assert len(rows) == 12 and set(rows[0]) == {"file", "text", "confidence", "char_confidences", "topn"}
    lines = [json.loads(x) for x in (tmp_path / "preds.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 12 and 0.0 <= lines[0]["confidence"] <= 1.0 and len(lines[0]["topn"]) >= 1


def test_checkpoint_of_another_charset_is_a_clear_error(tmp_path, plate_folder, caplog):
    root = tmp_path / "run"
    assert main(["fit", *tiny_args(root, plate_folder, "--trainer.max_steps", "1")]) == 0
    code = main(
        ["validate", *tiny_args(root, plate_folder, "--model.extra_chars", "警", "--data.extra_chars", "警"),
         "--ckpt_path", str(root / "checkpoints" / "last.ckpt")]
    )  # fmt: skip
    assert code == 2 and "charset" in caplog.text.lower() and "警" in caplog.text


def test_data_model_charset_mismatch_is_a_clear_error(tmp_path, plate_folder, caplog):
    code = main(["fit", *tiny_args(tmp_path, plate_folder, "--data.extra_chars", "警", "--trainer.max_steps", "1")])
    assert code == 2 and "Set the same `extra_chars`" in caplog.text
    assert not list(tmp_path.rglob("*.ckpt"))  # nothing to resume: the fixed command starts afresh


def test_bad_data_is_a_message_not_a_traceback(tmp_path, plate_folder):
    (plate_folder / "京A0000.jpg").write_bytes(b"")
    proc = subprocess.run(
        [*LPRZOO, "fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "1")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "京A0000.jpg: empty file" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_file_found_in_a_loader_worker_is_a_message(tmp_path, plate_folder):
    (plate_folder / "京A99999.jpg").write_bytes(b"garbage")
    proc = subprocess.run(
        [*LPRZOO, "fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_epochs", "1", "--data.cache", "false",
                                    "--data.num_workers", "1")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ERROR lprzoo: ") and "京A99999.jpg: corrupt or truncated image" in last_line


def test_killed_fit_resumes_from_last_checkpoint(tmp_path):
    data = tmp_path / "plates"
    write_plates(data, 40)  # 10 steps per epoch at batch 4
    root = tmp_path / "run"
    args = tiny_args(root, data, "--trainer.max_steps", "30", "--last_checkpoint.every_n_train_steps", "3")
    proc = subprocess.Popen([*LPRZOO, "fit", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last = root / "checkpoints" / "last.ckpt"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if last.is_file() and torch.load(last, weights_only=True)["global_step"] >= 12:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(last, weights_only=True)["global_step"]
    assert 0 < killed_at < 30 and killed_at % 10 != 0, "killed mid-epoch"

    resumed = subprocess.run(
        [*LPRZOO, "fit", *args, "--ckpt_path", "last"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Restored all states from the checkpoint" in resumed.stderr
    assert torch.load(last, weights_only=True)["global_step"] == 30


def test_wandb_logger_offline(tmp_path, plate_folder, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    logger = ["--trainer.logger", "lightning.pytorch.loggers.WandbLogger", "--trainer.logger.project", "lprzoo-test",
              "--trainer.logger.save_dir", str(tmp_path)]  # fmt: skip
    assert main(["fit", *tiny_args(tmp_path / "run", plate_folder, "--trainer.max_steps", "2", *logger)]) == 0
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_ddp_two_cpu_processes_reduce_metrics(tmp_path, plate_folder):
    root1, root2 = tmp_path / "single", tmp_path / "ddp"
    assert main(["fit", *tiny_args(root1, plate_folder, "--trainer.max_epochs", "1")]) == 0
    ckpt = root1 / "checkpoints" / "last.ckpt"
    ddp = ["--trainer.strategy", "ddp", "--trainer.accelerator", "cpu", "--trainer.devices", "2"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    fit = subprocess.run([*LPRZOO, "fit", *tiny_args(root2, plate_folder, "--trainer.max_epochs", "1", *ddp)],
                         capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    val = [r for r in metrics_rows(root2) if r.get("val/plates")]
    assert float(val[-1]["val/plates"]) == 12  # both ranks' 6 plates, summed

    for root, extra in ((root1, []), (root2, ddp)):
        proc = subprocess.run([*LPRZOO, "validate", *tiny_args(root, plate_folder, *extra), "--ckpt_path", str(ckpt)],
                              capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
    single = [r for r in metrics_rows(root1) if r.get("val/plates")][-1]
    multi = [r for r in metrics_rows(root2) if r.get("val/plates")][-1]
    for key in ("val/plates", "val/RA", "val/CRA", "val/CRA-C", "val/top3"):
        assert float(single[key]) == pytest.approx(float(multi[key])), key
    assert float(single["val/loss"]) == pytest.approx(float(multi["val/loss"]), rel=1e-4)


def test_render_command_writes_labelled_folder_and_preview(tmp_path):
    out, preview = tmp_path / "blue", tmp_path / "preview.png"
    args = ["render", "--spec", "blue", "--n", "24", "--out", str(out), "--workers", "1", "--preview", str(preview)]
    assert main(args) == 0
    rows = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "filename\tlabel" and len(rows) == 25
    assert preview.stat().st_size > 1000
    assert main(args) == 0  # a finished render is a no-op resume
    assert len(list(out.glob("*.jpg"))) == 24
