"""CycleGANModule: tiny fits per strategy, n_critic counting, the LR schedule, and a recipe that parses."""

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lprzoo.cli import LprzooCLI, run_cli
from lprzoo.data.unpaired import UnpairedPlatesDataModule
from lprzoo.recognize.module import CRNNModule
from lprzoo.refine import LSGAN, WGAN, WGANGP, AdversarialStrategy, CycleGANModule, LinearDecay
from tests.conftest import write_plates


def snapshot(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def changed(net: torch.nn.Module, before: list[torch.Tensor]) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))


def fit_on_tiny_plates(root: Path, model: pl.LightningModule, batches: int, flip: bool = True) -> pl.Trainer:
    """One epoch of ``batches`` unpaired batches of 2 (6 written real crops, 32 x 32 renders) under ``root``."""
    write_plates(root / "real", 6)
    data = UnpairedPlatesDataModule(
        real=str(root / "real"), size=(32, 32), load_size=(36, 36), flip=flip,
        train_size=2 * batches, batch_size=2, num_workers=0,
    )  # fmt: skip
    trainer = pl.Trainer(
        max_epochs=1, limit_train_batches=batches, accelerator="cpu", default_root_dir=str(root),
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, data)
    return trainer


def tiny_fit(
    root: Path, strategy: AdversarialStrategy, batches: int, **module_args
) -> tuple[CycleGANModule, dict, pl.Trainer]:
    model = CycleGANModule(strategy, ngf=8, ndf=8, n_blocks=1, pool_size=2, num_samples=3, **module_args)
    before = {name: snapshot(getattr(model, name)) for name in ("G", "F", "D_S", "D_R")}
    return model, before, fit_on_tiny_plates(root, model, batches)


@pytest.mark.parametrize("strategy", [LSGAN(), WGAN(), WGANGP()], ids=lambda s: type(s).__name__)
def test_tiny_fit_updates_every_network_and_writes_samples(tmp_path, strategy):
    batches = max(2, strategy.n_critic)  # one generator step needs n_critic batches (fast_dev_run counts steps)
    model, before, trainer = tiny_fit(tmp_path, strategy, batches)
    assert all(changed(getattr(model, name), before[name]) for name in before)
    png = tmp_path / "samples" / "cyclegan_epoch000.png"
    assert png.is_file() and model.last_sample_path == png
    from PIL import Image

    assert Image.open(png).size == (3 * 34 + 2, 5 * 34 + 2)  # 3 plates x rows S, G(S), F(G(S)), R, F(R)
    assert {"train/D_R", "train/D_S", "train/G", "train/cycle_S", "train/idt_R"} <= set(trainer.callback_metrics)
    assert all(cfg.scheduler.last_epoch == 1 for cfg in trainer.lr_scheduler_configs)  # stepped once per epoch
    if isinstance(strategy, WGAN):
        weights = torch.cat([p.flatten() for d in (model.D_R, model.D_S) for p in d.parameters()])
        assert weights.abs().max() <= 0.01


def test_label_keeper_adds_its_ctc_loss_and_stays_out_of_checkpoints(tmp_path):
    recognizer = CRNNModule(arch="test-lightcrnn-tiny")
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False)
    trainer.strategy.connect(recognizer)
    trainer.save_checkpoint(tmp_path / "reader.ckpt")
    reader_weights = snapshot(recognizer)
    model, _, trainer = tiny_fit(tmp_path, LSGAN(), 2, label_keeper=str(tmp_path / "reader.ckpt"), lambda_label=0.5)
    assert trainer.callback_metrics["train/label"] > 0  # CTC of the frozen reader on G(s), resized to 48x160
    keeper = model._keeper[0]
    assert not changed(keeper, reader_weights) and not keeper.training  # frozen, in eval mode
    assert not any(k.startswith("_keeper") or "keeper" in k for k in model.state_dict())  # G-only checkpoints


def test_missing_label_keeper_names_the_command_that_makes_it(tmp_path):
    model = CycleGANModule(ngf=8, ndf=8, n_blocks=1, label_keeper=str(tmp_path / "nope.ckpt"))
    with pytest.raises(FileNotFoundError, match="recipes/script_only.yaml"):
        model.setup("fit")


def test_generators_wait_for_n_critic_batches(tmp_path):
    model, before, _ = tiny_fit(tmp_path, WGAN(n_critic=3), batches=2)
    assert changed(model.D_R, before["D_R"]) and changed(model.D_S, before["D_S"])  # a critic step per batch
    assert not changed(model.G, before["G"]) and not changed(model.F, before["F"])  # no 3rd batch, no G step


def test_lr_is_constant_then_linear_to_zero():
    assert [LinearDecay(3, 4)(e) for e in range(9)] == pytest.approx([1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0, 0])
    model = CycleGANModule(ngf=4, ndf=4, n_blocks=1, decay_start_epoch=2, decay_epochs=3)
    optimizers, schedulers = model.configure_optimizers()
    lrs = []
    for _ in range(7):
        lrs.append(optimizers[0].param_groups[0]["lr"])
        for s in schedulers:
            s.step()
    assert lrs == pytest.approx([2e-4 * f for f in (1, 1, 0.75, 0.5, 0.25, 0, 0)])
    assert optimizers[1].param_groups[0]["lr"] == 0


def test_paper_defaults():
    model = CycleGANModule(ngf=4, ndf=4, n_blocks=1)
    assert isinstance(model.strategy, LSGAN) and model.hparams.lambda_cycle == 10.0
    assert model.pool_R.size == 50 and model.automatic_optimization is False
    assert LinearDecay(model.hparams.decay_start_epoch, model.hparams.decay_epochs)(30) == 0  # 30 epochs (§IV-C)


def parse(tmp_path: Path, strategy: str) -> LprzooCLI:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "model:\n"
        "  class_path: lprzoo.refine.CycleGANModule\n"
        "  init_args:\n"
        "    ngf: 4\n    ndf: 4\n    n_blocks: 1\n"
        f"    strategy: {strategy}\n"
        "data:\n"
        "  class_path: lprzoo.data.unpaired.UnpairedPlatesDataModule\n"
        "  init_args: {real: /nowhere, size: [128, 128], load_size: [143, 143], flip: true}\n",
        encoding="utf-8",
    )
    args = ["--config", str(recipe), "--trainer.logger", "false", "--trainer.default_root_dir", str(tmp_path)]
    return run_cli(args, run=False)


def test_recipe_picks_the_strategy_by_class_path_with_its_own_defaults(tmp_path):
    cli = parse(tmp_path, "{class_path: lprzoo.refine.WGAN}")
    assert repr(cli.model.strategy) == repr(WGAN())  # n_critic 5, clip 0.01, lr 5e-5: nothing inherited from LSGAN
    assert cli.datamodule.transform.size == (128, 128) and cli.datamodule.transform.load_size == (143, 143)
    cli = parse(tmp_path, "{class_path: lprzoo.refine.WGANGP, init_args: {n_critic: 3}}")
    assert isinstance(cli.model.strategy, WGANGP) and cli.model.strategy.n_critic == 3
    assert isinstance(parse(tmp_path, "null").model.strategy, LSGAN)
