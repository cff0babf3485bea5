"""Training learns, and its schedule follows the trainer."""

import lightning.pytorch as pl
import torch

from lprzoo.data.real import RealPlatesDataModule
from lprzoo.recognize.crnn import LightCRNNArch
from lprzoo.recognize.module import CRNNModule
from lprzoo.recognize.schedules import Constant, OneCycle, WarmupCosine
from tests.conftest import write_plates


def test_eight_plates_are_learnt_to_ra_one(tmp_path):
    """A test that fails if training stops learning: 8 fixed plates must be read perfectly after a short overfit."""
    write_plates(tmp_path / "eight", 8, seed=5)
    pl.seed_everything(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic on any machine: the test must not depend on the core count
    dm = RealPlatesDataModule(train=str(tmp_path / "eight"), val=str(tmp_path / "eight"), augment=None,
                              batch_size=8, num_workers=0)  # fmt: skip
    model = CRNNModule(
        LightCRNNArch(width_mult=0.25), beam_width=1,
        optimizer=lambda p: torch.optim.AdamW(p, lr=3e-3), lr_scheduler=Constant,
    )  # fmt: skip
    trainer = pl.Trainer(max_steps=500, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, check_val_every_n_epoch=50, precision="32-true")  # fmt: skip
    trainer.fit(model, dm)
    (metrics,) = trainer.validate(model, dm, verbose=False)
    torch.set_num_threads(threads)
    assert metrics["val/RA"] == 1.0


def test_schedules_take_their_length_from_the_trainer():
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2e-3)
    one = OneCycle(opt, total_steps=100)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        one.step()
    assert abs(max(lrs) - 2e-3) < 1e-9  # the peak is the optimizer's lr
    assert lrs[-1] < 1e-6 and lrs.index(max(lrs)) == 14  # warm-up over pct_start = 0.15 of 100 steps
    opt2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    WarmupCosine(opt2, total_steps=20, warmup=0.1)
    assert opt2.param_groups[0]["lr"] == 0.5  # step 0 of a 2-step warm-up


def test_module_sizes_its_schedule_from_max_epochs_and_batch(tmp_path):
    write_plates(tmp_path / "p", 24)
    for epochs, batch in ((2, 8), (3, 4)):
        dm = RealPlatesDataModule(train=str(tmp_path / "p"), batch_size=batch, num_workers=0)
        model = CRNNModule("test-lightcrnn-tiny")
        trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0)  # fmt: skip
        trainer.fit(model, dm)
        scheduler = trainer.lr_scheduler_configs[0].scheduler
        assert scheduler.total_steps == epochs * (24 // batch) == trainer.global_step
