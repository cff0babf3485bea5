"""Degradations are a typed, tunable choice in recipes and on the command line, not only a preset name."""

from lprzoo.cli import run_cli
from lprzoo.render.degrade import Degradations, LowRes


def test_a_preset_name_or_single_fields_tuned_from_the_command_line(tmp_path):
    base = ["--model", "lprzoo.CRNNModule", "--model.arch", "test-lightcrnn-tiny", "--data",
            "lprzoo.ScriptDataModule", "--data.num_workers", "0", "--trainer.logger", "false",
            "--trainer.default_root_dir", str(tmp_path)]  # fmt: skip
    preset = run_cli([*base, "--data.render.degradations", "paper"], run=False)
    assert preset.datamodule.train_set.kwargs["degradations"] == "paper"
    # the renders' settings as one value (a recipe's `render:` block): a field tuned, another switched off
    tuned = run_cli([*base, "--data.render", '{"degradations": {"low_res": {"p": 0.9}, "jpeg": null}}'], run=False)
    chosen = tuned.datamodule.train_set.kwargs["degradations"]
    assert isinstance(chosen, Degradations)
    assert chosen.low_res == LowRes(p=0.9) and chosen.jpeg is None and chosen.affine == Degradations().affine
    image, text, _ = tuned.datamodule.train_set[0]
    assert image.shape == (3, 48, 160) and len(text) >= 7
