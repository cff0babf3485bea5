"""MixedDataModule (§IV-D, Table VII): real crops + DCGAN plates whose every character is one extra class."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lprzoo.batch import PlateBatch
from lprzoo.data.mixed import MixedDataModule, generate_dcgan_plates
from lprzoo.recognize.module import CRNNModule
from lprzoo.refine import DCGANModule
from tests.conftest import write_plates


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def dcgan(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(DCGANModule(ngf=4, ndf=4))
    trainer.save_checkpoint(tmp_path / "dcgan.ckpt", weights_only=False)
    return tmp_path / "dcgan.ckpt"


def test_mixes_real_and_generated_with_the_extra_class(tmp_path, dcgan):
    real = write_plates(tmp_path / "real", 12)
    dm = MixedDataModule(
        train=str(tmp_path / "real"), val=str(tmp_path / "real"), dcgan=str(dcgan), num_generated=6,
        augment=None, batch_size=18, num_workers=0,
    )  # fmt: skip
    assert dm.charset.extra_chars == "☐" and dm.charset.num_classes == 69
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 18 and len(dm.datasets["val"]) == 12  # validation stays real
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, PlateBatch) and batch.images.shape == (18, 3, 48, 160)
    generated = [k for k, t in enumerate(batch.texts) if t == "☐" * 7]
    assert len(generated) == 6 and sorted(t for t in batch.texts if t != "☐" * 7) == sorted(real)
    extra = dm.charset.encode("☐")[0]
    assert extra == 68  # appended after the paper's 67 characters (index 0 is the blank)
    for k in range(18):
        row = batch.targets[k, : batch.target_lengths[k]]
        assert batch.target_lengths[k] == 7
        assert (row == extra).all() == (k in generated)  # 7 × the extra class, and only for generated plates
    assert all(batch.paths[k].startswith("dcgan:") for k in generated)
    CRNNModule(arch="test-lightcrnn-tiny", extra_chars="☐").charset.check_compatible(dm.charset, "mixed")


def test_generation_is_seeded_and_chunk_independent(dcgan):
    a = generate_dcgan_plates(dcgan, 5, seed=1, chunk=2)
    assert a.shape == (5, 3, 64, 64) and a.dtype == torch.uint8
    assert (a.int() - generate_dcgan_plates(dcgan, 5, seed=1, chunk=5).int()).abs().max() <= 1
    assert not torch.equal(a, generate_dcgan_plates(dcgan, 5, seed=2))


def test_extra_class_is_added_to_other_extra_chars():
    dm = MixedDataModule(extra_chars="警")
    assert dm.charset.extra_chars == "警☐" and dm.generated_label == "☐☐☐☐☐☐☐"
    assert MixedDataModule(generated_char="?", plate_length=8, extra_chars="").generated_label == "?" * 8


def test_missing_dcgan_names_the_command(tmp_path):
    write_plates(tmp_path / "real", 4)
    with pytest.raises(ValueError, match="set `dcgan`"):
        MixedDataModule(train=str(tmp_path / "real"), num_workers=0).setup("fit")
    with pytest.raises(FileNotFoundError, match="lprzoo fit --config recipes/dcgan.yaml"):
        MixedDataModule(train=str(tmp_path / "real"), dcgan=str(tmp_path / "no.ckpt"), num_workers=0).setup("fit")
    dm = MixedDataModule(train=str(tmp_path / "real"), num_generated=0, num_workers=0)  # real only: no DCGAN needed
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 4
