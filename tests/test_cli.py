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
        elif key == "arch":  # a typed architecture arrives as the registry call that rebuilds it
            assert value["init_args"].items() <= cli.model.hparams.arch_kwargs.items(), key
    assert cli.trainer.max_epochs == spec["trainer"].get("max_epochs", cli.trainer.max_epochs)
    contract = (spec["data"].get("init_args") or {}).get("contract")
    if contract:  # a recipe's input contract reaches its data and, linked, the model its record comes from
        assert cli.datamodule.contract.layout == contract["layout"] == cli.model.contract.layout


def _structure(recipe: Path) -> tuple:
    """What a recipe is built of: model and data classes, optimizer, schedule, kind head (not their values)."""
    import yaml

    spec = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    model = spec["model"].get("init_args") or {}
    chosen = [model.get(k) for k in ("optimizer", "lr_scheduler")]
    classes = [v.get("class_path") if isinstance(v, dict) else v for v in chosen]
    return spec["model"]["class_path"], spec["data"]["class_path"], *classes, bool(model.get("kind_head"))


# one recipe of each structure: recipes that differ only in values (the stages of a recipe chain) fail alike
RECOGNIZER_RECIPES = list(
    {_structure(r): r for r in reversed(RECIPES) if "CRNNModule" in r.read_text(encoding="utf-8")}.values()
)[::-1]
# a recipe's few steps in this process, quietly; fp32 pinned: bf16 autocast is ~6x slower on AVX2-only CPUs
QUICK_FIT = ["--data.init_args.num_workers", "0", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
             "--trainer.max_time", "null", "--trainer.precision", "32-true"]  # fmt: skip


@pytest.mark.parametrize("recipe", RECOGNIZER_RECIPES, ids=[r.name for r in RECOGNIZER_RECIPES])
def test_every_recognizer_recipe_survives_epoch_and_batch_overrides(recipe, tmp_path, plate_folder):
    """`--trainer.max_epochs 3 --data.batch_size 16` used to crash hand-computed OneCycleLR lengths."""
    text = recipe.read_text(encoding="utf-8")
    extra = ["--model.init_args.arch", "test-lightcrnn-tiny", "--model.init_args.init_from", "null"]
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
            "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
            "--trainer.default_root_dir", str(tmp_path / "run"), *QUICK_FIT, *extra]  # fmt: skip
    assert main(args) == 0
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6


@pytest.mark.parametrize(
    ("recipe", "key", "extra"),
    [("moving_lpr.yaml", "init_from", ["--data.batch_size", "8"]),
     ("cyclewgan.yaml", "label_keeper", ["--data.init_args.train_size", "8", "--trainer.max_epochs", "1"])],
)  # fmt: skip
def test_the_named_recipes_train_on_a_fresh_clone_from_zoo_entries(recipe, key, extra, tmp_path):
    """`lprzoo fit --config recipes/moving_lpr.yaml` and cyclewgan.yaml start from zoo entries: no earlier stage."""
    import yaml

    from lprzoo.hub import zoo_records

    if not (Path("..") / "shared" / "data" / "real").is_dir():
        pytest.skip("../shared/data is absent")
    path = Path(__file__).resolve().parents[1] / "recipes" / recipe
    name = yaml.safe_load(path.read_text(encoding="utf-8"))["model"]["init_args"][key]
    assert name in zoo_records(), f"{recipe}'s {key} {name!r} is not a zoo entry"
    args = ["fit", "--config", str(path), "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
            "--trainer.max_epochs", "1", "--trainer.check_val_every_n_epoch", "1",
            "--trainer.default_root_dir", str(tmp_path / "run"), *QUICK_FIT, *extra]  # fmt: skip
    assert main(args) == 0
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_print_config_and_overrides(capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(["fit", "--config", "recipes/real_baseline.yaml", "--trainer.max_epochs", "3", "--print_config"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "max_epochs: 3" in out
    # the architecture is typed: its class and every setting show, the default LightCRNN-1.2 included
    assert "class_path: lprzoo.LightCRNNArch" in out and "width_mult: 1.2" in out and "hidden: 256" in out


def tiny_typed_args(root: Path, data: Path, *extra: str) -> list[str]:
    """``tiny_args`` with the default typed architecture narrowed from the command line instead of a name."""
    args = tiny_args(root, data, "--model.init_args.arch.init_args.width_mult", "0.125",
                     "--model.init_args.arch.init_args.hidden", "8", *extra)  # fmt: skip
    i = args.index("--model.arch")
    return args[:i] + args[i + 2 :]


def test_typed_architecture_overrides_and_registry_names(tmp_path, plate_folder):
    from lprzoo import LightCRNNArch

    model = run_cli(tiny_typed_args(tmp_path, plate_folder), run=False).model
    expected = LightCRNNArch(width_mult=0.125, hidden=8).build(model.charset.num_classes)
    assert model.model.backbone.out_channels == expected.backbone.out_channels == 64  # 512 x 0.125, not x 1.2
    shapes = {k: v.shape for k, v in expected.state_dict().items()}
    assert {k: v.shape for k, v in model.model.state_dict().items()} == shapes
    # checkpoints keep the registry call, plain data
    assert (model.hparams.arch, model.hparams.arch_kwargs) == ("lightcrnn", {"width_mult": 0.125, "hidden": 8})
    # a registered name is still an architecture
    model = run_cli(tiny_args(tmp_path, plate_folder), run=False).model
    assert model.hparams.arch == "test-lightcrnn-tiny" and model.model.backbone.out_channels == 64
    assert model.hparams.arch_kwargs == {}


def test_typed_architecture_checkpoint_drives_predict(tmp_path, plate_folder, caplog, capsys):
    """The checkpoint's ``arch`` + ``arch_kwargs`` rebuild the typed architecture for ``--ckpt_path`` and ``--model``;
    a different one given next to it is an error."""
    args = tiny_typed_args(tmp_path / "run", plate_folder, "--trainer.max_steps", "1", "--trainer.logger", "false")
    assert main(["fit", *args, "--trainer.enable_progress_bar", "false"]) == 0
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    hparams = torch.load(ckpt, weights_only=True)["hyper_parameters"]
    assert (hparams["arch"], hparams["arch_kwargs"]) == ("lightcrnn", {"width_mult": 0.125, "hidden": 8})
    assert main(predict_args(ckpt, plate_folder, tmp_path / "p.csv")) == 0
    assert len((tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()) == 1 + 12
    out = tmp_path / "q.csv"
    same_beam = ["--model.beam_width", "3"]  # --model takes its decoding defaults from the recognizer's record
    assert main(["predict", "--model", str(ckpt), *predict_args(ckpt, plate_folder, out)[3:], *same_beam]) == 0
    assert out.read_text(encoding="utf-8") == (tmp_path / "p.csv").read_text(encoding="utf-8")
    wrong = predict_args(ckpt, plate_folder, tmp_path / "r.csv", "--model.arch.width_mult", "0.25")
    message = one_line_error(wrong, caplog, capsys)
    assert message.startswith(f"{ckpt}: the checkpoint has arch LightCRNNArch(width_mult=0.125, hidden=8)")
    assert "width_mult=0.25" in message


def test_progress_bar_can_be_switched_off(tmp_path, plate_folder):
    """Batch jobs and log files want no live progress bar; the default Rich bar must not force one."""
    root = tmp_path / "run"
    args = tiny_args(root, plate_folder, "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false")
    cli = run_cli(args, run=False)
    assert cli.trainer.progress_bar_callback is None


def test_a_log_file_shows_progress_lines_and_one_line_per_validation(tmp_path, plate_folder):
    """``lprzoo fit > log 2>&1``: no terminal, so no bar; the log gets steady progress lines and every validation."""
    root = tmp_path / "run"
    env = {**os.environ, "LPRZOO_LOG_EVERY_S": "0"}  # a line per step here; 30 s by default
    log_file = tmp_path / "fit.log"
    with log_file.open("w") as out:
        subprocess.run(
            [*LPRZOO, "fit", *tiny_args(root, plate_folder, "--trainer.max_epochs", "2")],
            stdout=out, stderr=subprocess.STDOUT, env=env, check=True, timeout=300,
        )  # fmt: skip
    text = log_file.read_text(encoding="utf-8")
    progress = [line for line in text.splitlines() if "ETA" in line and "step" in line]
    validations = [line for line in text.splitlines() if "validation after epoch" in line]
    assert len(progress) >= 4 and "epoch 2/2" in progress[-1]
    assert len(validations) == 2 and "RA" in validations[0]
    assert "━" not in text  # no progress bar drawn into the file


@pytest.mark.parametrize("verb", ["predict", "test"])
def test_a_predict_or_test_into_a_log_file_shows_progress_lines(tiny_ckpt, tmp_path, plate_folder, verb, caplog,
                                                                  monkeypatch):  # fmt: skip
    """``lprzoo predict|test ... > log 2>&1`` over a folder: the log says how far the reading is, as a fit's does
    (stderr here is pytest's capture, not a terminal, as it is a file under ``> log``)."""
    monkeypatch.setenv("LPRZOO_LOG_EVERY_S", "0")  # a line per batch here; 30 s by default
    args = predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv", "--data.batch_size", "4")
    if verb == "test":
        args = ["test", "--ckpt_path", str(tiny_ckpt), "--data.test", str(plate_folder), "--data.num_workers", "0",
                "--trainer.logger", "false", "--data.batch_size", "4"]  # fmt: skip
    else:
        bar = args.index("--trainer.enable_progress_bar")
        del args[bar : bar + 2]  # as a user runs it: the bar left on, which a log file turns into lines
    with caplog.at_level("INFO", logger="lprzoo"):
        assert main(args) == 0
    progress = [r.getMessage().split("  ")[0] for r in caplog.records if "ETA" in r.getMessage()]
    assert progress == [f"{verb}: batch 1/3", f"{verb}: batch 2/3", f"{verb}: batch 3/3"]


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
        ["validate", *tiny_args(root, plate_folder, "--data.extra_chars", "警"),
         "--ckpt_path", str(root / "checkpoints" / "last.ckpt")]
    )  # fmt: skip
    assert code == 2 and "charset" in caplog.text.lower() and "警" in caplog.text


def test_the_charset_is_declared_once_on_the_data_and_linked_to_the_model(tmp_path, plate_folder):
    cli = run_cli(tiny_args(tmp_path, plate_folder, "--data.extra_chars", "警"), run=False)
    assert cli.model.charset == cli.datamodule.charset and cli.model.charset.chars.endswith("警")
    plain = run_cli(tiny_args(tmp_path, plate_folder), run=False)
    assert plain.model.charset == plain.datamodule.charset and plain.model.charset.num_classes == 68


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


# ---- bad input: one line naming the file, exit code 2, no traceback (docs/reliability.md) ------------------------
@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    write_plates(root / "plates", 8)
    args = tiny_args(root / "run", root / "plates", "--trainer.max_steps", "1", "--trainer.logger", "false")
    assert main(["fit", *args, "--trainer.enable_progress_bar", "false"]) == 0
    return root / "run" / "checkpoints" / "last.ckpt"


def one_line_error(args: list[str], caplog, capsys) -> str:
    """Run ``lprzoo ARGS``; assert exit code 2, one ERROR line and no traceback; return that line."""
    caplog.clear()
    assert main(args) == 2
    assert "Traceback" not in capsys.readouterr().err
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0], errors
    return errors[0]


def predict_args(ckpt: Path, data: Path | str, output: Path, *extra: str) -> list[str]:
    return ["predict", "--ckpt_path", str(ckpt), "--data.predict", str(data), "--data.num_workers", "0",
            "--predict_writer.output", str(output), "--trainer.logger", "false",
            "--trainer.enable_progress_bar", "false", *extra]  # fmt: skip


def test_test_with_a_weights_file_of_a_kind_head_model(tmp_path, plate_folder, capsys):
    """``lprzoo test --model F`` builds the model the record describes, kind head included (as for every-plate)."""
    from lprzoo.weights import RecognizerRecord, save_recognizer

    record = RecognizerRecord(arch="test-lightcrnn-tiny", kind_head=True)
    weights = save_recognizer(tmp_path / "kinds.safetensors", record.build(), record, dtype=torch.float32)
    args = ["test", "--model", str(weights), "--data.test", str(plate_folder), "--data.num_workers", "0",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(tmp_path / "run")]  # fmt: skip
    assert main(args) == 0
    assert "test/RA" in capsys.readouterr().out


def test_labels_file_not_utf8_or_gb18030_is_one_line(tmp_path, plate_folder, caplog, capsys):
    labels = tmp_path / "labels.tsv"
    labels.write_bytes("filename\tlabel\n".encode("utf-16"))
    message = one_line_error(["fit", *tiny_args(tmp_path, labels)], caplog, capsys)
    assert f"{labels}: row 1 is neither UTF-8 nor GB18030" in message


def test_label_that_is_not_a_plate_is_one_line(tmp_path, plate_folder, caplog, capsys):
    (plate_folder / "AB.jpg").write_bytes(sorted(plate_folder.glob("*.jpg"))[0].read_bytes())
    message = one_line_error(["fit", *tiny_args(tmp_path, plate_folder)], caplog, capsys)
    assert "AB.jpg: not a plate: label 'AB'" in message


def test_ccpd_name_out_of_range_is_one_line(tmp_path, plate_folder, caplog, capsys):
    name = "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_99_33_16-37-15.jpg"
    (tmp_path / "ccpd").mkdir()
    (tmp_path / "ccpd" / name).write_bytes(sorted(plate_folder.glob("*.jpg"))[0].read_bytes())
    message = one_line_error(["fit", *tiny_args(tmp_path, tmp_path / "ccpd")], caplog, capsys)
    assert f"{name}: not a CCPD file name: field 5 index 5 (character) is 99" in message


def test_file_name_with_a_newline_stays_on_one_line(tmp_path, plate_folder, caplog, capsys):
    (plate_folder / "京A1\n2345.jpg").write_bytes(b"")
    message = one_line_error(["fit", *tiny_args(tmp_path, plate_folder)], caplog, capsys)
    assert "京A1\\n2345.jpg" in message


def test_single_image_and_glob_pattern_as_predict(tiny_ckpt, tmp_path, plate_folder):
    one = sorted(plate_folder.glob("*.jpg"))[0]
    assert main(predict_args(tiny_ckpt, one, tmp_path / "one.csv")) == 0
    assert [r["file"] for r in csv.DictReader((tmp_path / "one.csv").open(encoding="utf-8"))] == [str(one)]
    assert main(predict_args(tiny_ckpt, f"{plate_folder}/0000*.jpg", tmp_path / "glob.csv")) == 0
    assert len(list(csv.DictReader((tmp_path / "glob.csv").open(encoding="utf-8")))) == 10


def test_non_utf8_file_name_is_escaped_in_the_output(tiny_ckpt, tmp_path, plate_folder):
    folder = tmp_path / "cams"
    folder.mkdir()
    jpg = sorted(plate_folder.glob("*.jpg"))[0].read_bytes()
    (folder / os.fsdecode(b"cam_\xff\xfe.jpg")).write_bytes(jpg)
    (folder / "cam_2.jpg").write_bytes(jpg)
    for out in (tmp_path / "p.csv", tmp_path / "p.jsonl"):
        assert main(predict_args(tiny_ckpt, folder, out)) == 0
        assert "cam_\\xff\\xfe.jpg" in out.read_text(encoding="utf-8").replace("\\\\", "\\")
    assert not list(tmp_path.glob("*.partial"))


def test_a_dying_predict_leaves_no_half_written_output(tiny_ckpt, tmp_path, plate_folder, caplog, capsys):
    (plate_folder / "zz_broken.jpg").write_bytes(b"not a jpeg")  # sorted last: the run dies in its last batch
    out = tmp_path / "preds.csv"
    message = one_line_error(predict_args(tiny_ckpt, plate_folder, out, "--data.batch_size", "4"), caplog, capsys)
    assert "zz_broken.jpg: corrupt or truncated image" in message
    assert message.endswith("(--data.skip_invalid true skips and counts such files)")  # the way on, in the line
    assert not out.exists()  # the rows so far are in preds.csv.<pid>.partial, never at the final path
    (partial,) = tmp_path.glob("preds.csv.*.partial")
    assert len(partial.read_text(encoding="utf-8").splitlines()) == 1 + 12


def test_predict_with_skip_invalid_reads_on_and_counts_what_it_skipped(tiny_ckpt, tmp_path, plate_folder, caplog):
    (plate_folder / "0000_broken.jpg").write_bytes(b"not a jpeg")  # sorted first: in the first batch
    out = tmp_path / "preds.csv"
    args = predict_args(tiny_ckpt, plate_folder, out, "--data.batch_size", "4", "--data.skip_invalid", "true")
    assert main(args) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 12 and not any("broken" in r["file"] for r in rows)
    assert "1 of 13 files are not readable images: skipped, no row" in caplog.text


@pytest.mark.parametrize("kind", ["folder", "under a file"])
def test_unusable_predict_output_fails_before_model_and_data_load(tiny_ckpt, tmp_path, caplog, capsys, kind):
    output = tmp_path if kind == "folder" else tmp_path / "a_file" / "preds.csv"
    (tmp_path / "a_file").write_text("x")
    missing = tmp_path / "no_such_folder"  # would fail at data setup, so the output check came first
    message = one_line_error(predict_args(tiny_ckpt, missing, output), caplog, capsys)
    assert message.startswith(f"{output}: --predict_writer.output")
    assert ("is a folder" if kind == "folder" else "cannot be written") in message


@pytest.mark.parametrize("flag, value", [("--model.init_args.arch", "crnn"), ("--data.extra_chars", "警")])
def test_model_arguments_that_disagree_with_the_checkpoint_are_an_error(tiny_ckpt, tmp_path, plate_folder, caplog,
                                                                        capsys, flag, value):  # fmt: skip
    message = one_line_error(predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv", flag, value), caplog, capsys)
    key = flag.rsplit(".", 1)[-1]
    if key == "extra_chars":  # declared on the data, linked to the model: the checkpoint's charset is checked
        assert "charset" in message and "警" in message
    else:
        assert message.startswith(f"{tiny_ckpt}: the checkpoint has {key}") and repr(value) in message
    # the same value as the checkpoint's is no conflict
    assert main(predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv", "--model.arch", "test-lightcrnn-tiny")) == 0


def test_predict_keeps_no_predictions_in_memory(tiny_ckpt, tmp_path, plate_folder):
    cli = run_cli(predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv"))
    assert cli.config.predict.return_predictions is False
    assert not any(cli.trainer.predict_loop._predictions)
    assert len((tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()) == 1 + 12


def test_fit_without_ckpt_path_neither_resumes_nor_warns_about_last(tmp_path, plate_folder, recwarn):
    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "1")]) == 0
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    code = main(["fit", *tiny_args(tmp_path, plate_folder, "--data.val", str(tmp_path / "none"), "--trainer.max_steps",
                                   "1")])  # fmt: skip
    assert code == 2  # a failing fit, in a folder that holds a last.ckpt
    proc = subprocess.run([*LPRZOO, "fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in [str(w.message) for w in recwarn] + [proc.stderr]:
        assert 'ckpt_path="last"' not in text and "ckpt_path=None" not in text and "args parameter" not in text
    assert "Restored all states" not in proc.stderr  # no --ckpt_path: a fresh run, not a silent resume


def test_ckpt_path_last_resumes_from_the_newer_of_last_and_interrupted(tmp_path, plate_folder, caplog):
    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2")]) == 0
    folder = tmp_path / "checkpoints"
    (folder / "interrupted.ckpt").write_bytes((folder / "last.ckpt").read_bytes())  # written after last.ckpt
    caplog.clear()
    caplog.set_level("INFO", logger="lprzoo")
    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2"), "--ckpt_path", "last"]) == 0
    assert f"resuming from {folder / 'interrupted.ckpt'}" in caplog.text
    assert f"Restored all states from the checkpoint at {folder / 'interrupted.ckpt'}" in caplog.text
    assert not (folder / "interrupted.ckpt").exists()  # a finished fit removes it: last.ckpt holds everything


def test_missing_split_and_a_file_as_render_folder_are_one_line(tiny_ckpt, tmp_path, plate_folder, caplog, capsys):
    args = ["test", "--ckpt_path", str(tiny_ckpt), "--data.train", str(plate_folder), "--trainer.logger", "false"]
    assert "set `test` (--data.test DIR) to run test" in one_line_error(args, caplog, capsys)
    (tmp_path / "a_file").write_text("x")
    message = one_line_error(
        ["render", "--n", "2", "--out", str(tmp_path / "a_file"), "--workers", "1"], caplog, capsys
    )
    assert "File exists" in message and "a_file" in message


def test_labels_row_without_a_label_is_one_line(tmp_path, plate_folder, caplog, capsys):
    labels = tmp_path / "labels.tsv"
    labels.write_text("filename\tlabel\nplates/00000_x.jpg\n", encoding="utf-8")
    message = one_line_error(["fit", *tiny_args(tmp_path, labels)], caplog, capsys)
    assert f"{labels}: row 1 has 1 columns, expected filename and label" in message


def test_the_model_class_chooses_the_best_checkpoint_metric(tmp_path, plate_folder):
    """Recognizers keep their best checkpoint by val/RA; GAN recipes need not undo that (they log no val/RA)."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    def monitors(cli):
        return [(c.monitor, c.mode) for c in cli.trainer.callbacks if isinstance(c, ModelCheckpoint)]

    recognizer = run_cli(tiny_args(tmp_path, plate_folder), run=False)
    assert ("val/RA", "max") in monitors(recognizer)
    gan = run_cli(["--config", "recipes/cyclewgan.yaml", "--model.init_args.label_keeper", "null",
                   "--trainer.logger", "false"], run=False)  # fmt: skip
    assert all(monitor is None for monitor, _ in monitors(gan))
    chosen = run_cli([*tiny_args(tmp_path, plate_folder), "--checkpoint.monitor", "val/CRA"], run=False)
    assert ("val/CRA", "max") in monitors(chosen)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "--n", "-5", "--out", "{tmp}/r"], "--n and --workers must be at least 1"),
        (["render", "--spec", "purple", "--out", "{tmp}/r"], "unknown --spec 'purple'"),
        (["render", "--out", ""], "--out is empty"),
        (["benchmark", "--models", "x.safetensors", "--runtimes", "tensorrt"], "unknown runtime 'tensorrt'"),
        (["pseudo-label", "--model", "x.safetensors", "--min_confidence", "1.5"], "--min_confidence must lie in"),
    ],
)
def test_bad_values_of_the_verbs_are_one_line(args, message, tmp_path, caplog, capsys):
    """Values that were accepted (and then rendered nothing, rendered into the current folder, ran torch under
    another name, or kept every pseudo-label) are one-line errors with exit code 2."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert message in one_line_error(args, caplog, capsys)


def test_an_interrupted_fit_says_the_command_that_resumes_it():
    from lprzoo.cli.callbacks import resume_command

    argv = ["/venv/bin/lprzoo", "fit", "--config", "r.yaml", "--ckpt_path", "a.ckpt", "--x", "a b"]
    assert resume_command(argv) == "lprzoo fit --config r.yaml --x 'a b' --ckpt_path last"


def test_test_reports_trust_figures_and_writes_their_pictures(tiny_ckpt, tmp_path, plate_folder):
    """`lprzoo test` logs ECE and coverage at 99 % / 99.5 % precision beside RA, and draws the reliability diagram
    and the risk-coverage curve of the test set into its log folder."""
    args = ["test", "--ckpt_path", str(tiny_ckpt), *tiny_args(tmp_path, plate_folder)[:-6], "--data.test",
            str(plate_folder), "--data.batch_size", "4", "--data.num_workers", "0",
            "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"]  # fmt: skip
    assert main(args) == 0
    rows = metrics_rows(tmp_path)
    logged = {k for row in rows for k, v in row.items() if v}
    assert {"test/ECE", "test/coverage@99", "test/coverage@99.5", "test/mean_confidence", "test/RA"} <= logged
    pictures = sorted(p.name for p in tmp_path.glob("logs/version_*/confidence/*.png"))
    assert pictures == ["reliability_test.png", "risk_coverage_test.png"]


def test_predict_writes_readings_below_min_confidence_to_a_review_file(tiny_ckpt, tmp_path, plate_folder):
    out = tmp_path / "predictions.csv"
    assert main(predict_args(tiny_ckpt, plate_folder, out, "--predict_writer.min_confidence", "0.5")) == 0
    accepted = list(csv.DictReader(out.open(encoding="utf-8")))
    review = list(csv.DictReader((tmp_path / "predictions.review.csv").open(encoding="utf-8")))
    assert len(accepted) + len(review) == 12  # an untrained tiny model: most readings are unsure
    assert all(float(r["confidence"]) < 0.5 for r in review) and all(float(r["confidence"]) >= 0.5 for r in accepted)
    assert all("topn" in r for r in review)


def test_predict_prints_each_line_once_with_no_seed_warning_or_advert(tiny_ckpt, tmp_path, plate_folder):
    args = predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv")
    proc = subprocess.run([sys.executable, "-m", "lprzoo.cli", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "No seed found" not in proc.stderr and "Tip" not in proc.stderr and "Warning" not in proc.stderr
    assert not [line for line in lines if "GPU available" in line][1:]  # Lightning's lines once, not twice
    assert any("wrote 12 predictions" in line for line in lines)


def test_a_render_rerun_says_it_rendered_nothing(tmp_path, caplog):
    args = ["render", "--n", "3", "--out", str(tmp_path / "blue"), "--workers", "1"]
    caplog.set_level("INFO", logger="lprzoo")
    assert main(args) == 0
    assert "rendered 3 plates (0 were already there)" in caplog.text
    caplog.clear()
    assert main(args) == 0
    assert "nothing to render: all 3 plates were already in" in caplog.text and "rendered 3" not in caplog.text


def test_predict_refuses_to_write_over_its_own_input(tiny_ckpt, tmp_path, plate_folder, caplog, capsys):
    labels = plate_folder / "labels.tsv"
    message = one_line_error(predict_args(tiny_ckpt, plate_folder, labels), caplog, capsys)
    assert "would overwrite an input of this run" in message and not labels.exists()
    one_image = sorted(plate_folder.glob("*.jpg"))[0]
    before = one_image.read_bytes()
    message = one_line_error(predict_args(tiny_ckpt, one_image, one_image), caplog, capsys)
    assert "would overwrite an input" in message and one_image.read_bytes() == before


def test_a_second_predict_on_the_same_output_refuses_while_the_first_runs(tiny_ckpt, tmp_path, plate_folder,
                                                                          caplog, capsys):  # fmt: skip
    from lprzoo.folders import exclusive

    out = tmp_path / "p.csv"
    with exclusive(tmp_path / ".p.csv.lock"):  # the first predict holds its output
        message = one_line_error(predict_args(tiny_ckpt, plate_folder, out), caplog, capsys)
    assert "another lprzoo predict is writing this output" in message
    assert main(predict_args(tiny_ckpt, plate_folder, out)) == 0  # then it goes ahead
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0][0] == "file" and len(rows) == 13


@pytest.mark.parametrize(
    "override, message",
    [
        (["--data.batch_size", "0"], "--data.batch_size must be at least 1, got 0"),
        (["--data.num_workers", "-1"], "--data.num_workers must be at least 0, got -1"),
        (["--data.val_fraction", "-0.5"], "--data.val_fraction must be in [0.0, 0.9], got -0.5"),
        (["--trainer.max_steps", "-5"], "`max_steps` must be a non-negative integer or -1"),
    ],
)
def test_settings_out_of_range_are_one_line_before_any_work(tmp_path, plate_folder, caplog, capsys, override,
                                                            message):  # fmt: skip
    args = tiny_args(tmp_path, plate_folder)
    if override[0] == "--data.val_fraction":  # a split of train, so no separate val
        i = args.index("--data.val")
        args = args[:i] + args[i + 2 :]
    assert message in one_line_error(["fit", *args, *override], caplog, capsys)


def test_predict_with_a_generator_as_the_model_is_one_line(tmp_path, plate_folder, caplog, capsys):
    args = ["predict", "--model", "cyclewgan-blue", *predict_args("x", plate_folder, tmp_path / "p.csv")[3:]]
    message = one_line_error(args, caplog, capsys)
    assert "is a CycleGAN generator, not a plate reader" in message


def test_kill_9_during_fit_with_tmpdir_on_another_filesystem_never_leaves_a_damaged_last_ckpt(tmp_path, plate_folder):
    """Checkpoints are renamed into place from their own folder, so however often fit is killed, last.ckpt is
    either the previous whole checkpoint or the new whole one, and `--ckpt_path last` resumes."""
    import random
    import tempfile

    from lprzoo.weights import read_weights

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a TMPDIR on another filesystem than the run folder")
    other_tmp = tempfile.mkdtemp(dir=shm)
    env = {**os.environ, "TMPDIR": other_tmp}
    args = ["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "100000",
            "--last_checkpoint.every_n_train_steps", "1", "--trainer.enable_progress_bar", "false",
            "--trainer.logger", "false")]  # fmt: skip
    last = tmp_path / "checkpoints" / "last.ckpt"
    rng = random.Random(0)
    kills = 0
    for _ in range(4):
        resume = ["--ckpt_path", "last"] if last.exists() else []
        proc = subprocess.Popen([sys.executable, "-m", "lprzoo.cli", *args, *resume], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline and not last.exists():
            time.sleep(0.1)
        time.sleep(rng.uniform(0.5, 3.0))  # somewhere in a stream of checkpoint writes
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        assert last.stat().st_size > 0
        read_weights(last)  # whole: loads without error
    assert kills == 4
    leftovers = [p.name for p in last.parent.iterdir() if p.name.startswith(".")]
    assert all(name.endswith(".tmp") for name in leftovers)  # at most a hidden temporary file, never served


def test_a_checkpoint_save_that_dies_half_way_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    from lprzoo.cli.callbacks import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    target = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1, "w": torch.zeros(1000)}, target)
    before = target.read_bytes()
    written_to = []

    def dying_save(obj, f):  # writes part of the file, then the process "dies"
        written_to.append(Path(f.name))
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, target)
    assert target.read_bytes() == before  # the previous checkpoint, whole
    assert written_to[0].parent == tmp_path  # its temporary file lies beside it, never in $TMPDIR
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def _disk_full(*args, **kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device", "/full/disk/file")


@pytest.mark.parametrize("verb", ["render", "export", "predict", "fit"])
def test_a_full_disk_is_one_line_for_every_writing_verb(verb, tiny_ckpt, tmp_path, plate_folder, monkeypatch, caplog,
                                                        capsys):  # fmt: skip
    from lprzoo.cli.callbacks import AtomicCheckpointIO
    from lprzoo.readings import ReadingsFile

    if verb == "render":
        monkeypatch.setattr("lprzoo.render.dataset._write_image", _disk_full)
        args = ["render", "--n", "2", "--out", str(tmp_path / "r"), "--workers", "1"]
    elif verb == "export":
        monkeypatch.setattr("lprzoo.export.runtime._set_metadata", _disk_full)
        args = ["export", "--model", str(tiny_ckpt), "--out", str(tmp_path / "m.onnx"), "--check", "none"]
    elif verb == "predict":
        monkeypatch.setattr(ReadingsFile, "append", _disk_full)
        args = predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv")
    else:
        monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", _disk_full)
        args = ["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "1", "--trainer.logger", "false")]
    message = one_line_error(args, caplog, capsys)
    assert "/full/disk/file: No space left on device" in message


def test_ckpt_path_last_skips_a_damaged_newest_checkpoint_and_none_readable_is_refused(tmp_path, plate_folder, caplog,
                                                                                       capsys):  # fmt: skip
    import pickle

    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2")]) == 0
    folder = tmp_path / "checkpoints"
    whole = (folder / "last.ckpt").read_bytes()
    (folder / "interrupted.ckpt").write_bytes(whole[: len(whole) // 2])  # newer, and truncated by a crash
    caplog.clear()
    caplog.set_level("INFO", logger="lprzoo")
    assert main(["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2"), "--ckpt_path", "last"]) == 0
    assert "trying the previous checkpoint" in caplog.text and f"resuming from {folder / 'last.ckpt'}" in caplog.text
    for name in ("last.ckpt", "interrupted.ckpt"):  # nothing readable: a pickled object and a truncated file
        (folder / name).write_bytes(pickle.dumps(object) if name == "last.ckpt" else whole[:100])
    args = ["fit", *tiny_args(tmp_path, plate_folder, "--trainer.max_steps", "2"), "--ckpt_path", "last"]
    assert "no readable checkpoint to resume from" in one_line_error(args, caplog, capsys)


@pytest.mark.parametrize(
    "args, message",
    [
        (["export", "--model", "lightcrnn-1.2-real", "--max_ra_drop", "2"], "--max_ra_drop must lie in [0, 1]"),
        (["explain", "/nonexistent/*.jpg"], "no image (give an image, a folder of images or a glob pattern)"),
    ],
)
def test_more_bad_values_are_one_line(args, message, caplog, capsys):
    assert message in one_line_error(args, caplog, capsys)


def test_predict_min_confidence_out_of_range_is_one_line(tiny_ckpt, tmp_path, plate_folder, caplog, capsys):
    args = predict_args(tiny_ckpt, plate_folder, tmp_path / "p.csv", "--predict_writer.min_confidence", "1.5")
    assert "--predict_writer.min_confidence must lie in [0, 1], got 1.5" in one_line_error(args, caplog, capsys)


def test_kill_9_at_random_points_of_render_and_predict_never_leaves_a_truncated_output(tiny_ckpt, tmp_path,
                                                                                       plate_folder):  # fmt: skip
    """Renders and predictions are renamed into place when whole: after any kill, every image under a plate's name
    decodes, labels.tsv and the predictions file exist only complete, and a re-run completes."""
    import random

    from PIL import Image

    rng = random.Random(1)
    out = tmp_path / "blue"
    render = [sys.executable, "-m", "lprzoo.cli", "render", "--n", "8000", "--out", str(out), "--workers", "1"]
    for _ in range(3):
        proc = subprocess.Popen(render, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 5.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        labels = out / "labels.tsv"
        assert not labels.exists() or len(labels.read_text(encoding="utf-8").splitlines()) == 8001  # whole or absent
        for image in out.glob("[0-9]*.jpg"):
            with Image.open(image) as im:
                im.load()  # whole: a truncated JPEG raises here
    predictions = tmp_path / "p.csv"
    predict = [sys.executable, "-m", "lprzoo.cli", *predict_args(tiny_ckpt, out, predictions)]
    for _ in range(3):
        proc = subprocess.Popen(predict, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if predictions.exists():  # it finished before the kill: then it is whole
            rows = list(csv.reader(predictions.open(encoding="utf-8")))
            assert rows[0][0] == "file" and len(rows) == 1 + len(list(out.glob("[0-9]*.jpg")))
    assert subprocess.run(render, capture_output=True).returncode == 0  # the folder resumes to completion
    assert len((out / "labels.tsv").read_text(encoding="utf-8").splitlines()) == 8001


@pytest.mark.parametrize(
    "verb", ["pseudo-label", "calibrate", "explain", "render", "adapt", "zoo", "export", "publish", "benchmark"]
)
def test_a_verbs_help_imports_no_torch(verb):
    """`lprzoo VERB --help` answers without importing torch (about 1.2 s of a 2-core machine's start-up)."""
    code = (
        "import sys\nfrom lprzoo.cli import main\ntry:\n    main(['" + verb + "', '--help'])\nexcept SystemExit:\n"
        "    pass\nprint('torch' in sys.modules)"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip().splitlines()[-1] == "False", probe.stdout[-500:] + probe.stderr[-500:]


def test_a_lightning_verbs_help_is_kept_once_built(tmp_path):
    """`lprzoo fit --help` builds its help with Lightning once; the next call prints the same text without torch."""
    code = (
        "import sys\nfrom lprzoo.cli import main\nmain(['fit', '--help'])\n"
        "print('torch imported:', 'torch' in sys.modules)"
    )
    env = {**os.environ, "LPRZOO_CACHE": str(tmp_path), "COLUMNS": "100"}
    first, again = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
                    for _ in range(2))  # fmt: skip
    assert first.stdout.endswith("torch imported: True\n") and "--trainer.max_epochs" in first.stdout, first.stderr
    assert again.stdout.endswith("torch imported: False\n"), again.stderr[-500:]
    assert again.stdout.rsplit("torch", 1)[0] == first.stdout.rsplit("torch", 1)[0]  # the same help
    assert len(list((tmp_path / "help").glob("fit-*.txt"))) == 1


def test_output_piped_into_head_ends_quietly():
    """`lprzoo zoo | head -0`: the pipe closes before the table is written; no traceback, exit 0."""
    proc = subprocess.Popen([*LPRZOO, "zoo", "--markdown", "true"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before lprzoo has started
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in stderr, stderr.decode()[-500:]


def test_predict_with_a_calibrated_model_writes_the_readings_lprzoo_load_gives(tmp_path, plate_folder):
    """``lprzoo predict --model NAME`` of a calibrated reader writes what ``lprzoo.load(NAME)`` reads: the same texts
    and calibrated confidences (doubtful plates read again), so ``--predict_writer.min_confidence`` compares with the
    calibrated operating point; once trained, a model has no calibration to apply."""
    import lprzoo
    from lprzoo.calibration import Calibration
    from lprzoo.recognize.module import CRNNModule
    from lprzoo.weights import RecognizerRecord, save_recognizer

    name = "lightcrnn-1.2-every-plate"
    reader = lprzoo.load(name)
    files = sorted(plate_folder.glob("*.jpg"))
    readings = reader(files)
    assert reader.temperature != 1 and any(r.confidence < reader.reread_below for r in readings)  # some read again
    out = tmp_path / "p.csv"
    args = predict_args(Path(name), plate_folder, out, "--trainer.precision", "32-true")[3:]
    assert main(["predict", "--model", name, *args]) == 0
    written = {Path(r["file"]).name: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert len(written) == len(files)
    for path, reading in zip(files, readings):
        row = written[path.name]
        assert row["text"] == reading.text and abs(float(row["confidence"]) - reading.confidence) < 1e-4, path.name

    record = RecognizerRecord(arch="test-lightcrnn-tiny")
    record.calibration = Calibration(temperature=2.0)
    weights = save_recognizer(tmp_path / "cal.safetensors", record.build(), record)
    model = CRNNModule(arch="test-lightcrnn-tiny", init_from=str(weights))
    model.load_weights(str(weights))
    assert model.calibrated_reader() is not None
    model.on_train_start()
    assert model.calibrated_reader() is None
