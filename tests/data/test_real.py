import pytest
import torch

from lprzoo.batch import PlateBatch
from lprzoo.charset import Charset
from lprzoo.data.real import RealPlatesDataModule
from lprzoo.data.sources import InvalidSampleError
from lprzoo.errors import MissingInputError
from tests.conftest import write_plates


def test_fit_batches_are_typed_and_encoded(plate_folder):
    dm = RealPlatesDataModule(train=str(plate_folder), val_fraction=0.25, batch_size=4, num_workers=0)
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 9 and len(dm.datasets["val"]) == 3
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, PlateBatch)
    assert batch.images.shape == (4, 3, 48, 160) and batch.images.dtype == torch.float32
    assert 0.0 <= batch.images.min() and batch.images.max() <= 1.0
    assert batch.targets.shape == (4, 7) and batch.target_lengths.tolist() == [7] * 4
    assert Charset().decode(batch.targets[0].tolist()) == batch.texts[0]


def test_seeded_split_is_reproducible_and_disjoint(plate_folder):
    def split(seed):
        dm = RealPlatesDataModule(train=str(plate_folder), val_fraction=0.25, split_seed=seed, num_workers=0)
        dm.setup("fit")
        return [s.path for s in dm.datasets["train"].samples], [s.path for s in dm.datasets["val"].samples]

    train, val = split(0)
    assert split(0) == (train, val)
    assert not set(train) & set(val)
    assert split(1)[1] != val


def test_augmentation_is_train_only(plate_folder):
    dm = RealPlatesDataModule(train=str(plate_folder), val=str(plate_folder), num_workers=0, cache=True)
    dm.setup("fit")
    raw = dm.datasets["train"].images[0]
    torch.manual_seed(0)
    assert not torch.equal(dm.datasets["train"][0][0], raw)
    assert torch.equal(dm.datasets["val"][0][0], dm.datasets["val"].images[0])


def test_uncached_skip_invalid_drops_corrupt_file(tmp_path):
    write_plates(tmp_path / "p", 4)
    (tmp_path / "p" / "京A99999.jpg").write_bytes(b"garbage")
    dm = RealPlatesDataModule(test=str(tmp_path / "p"), cache=False, skip_invalid=True, batch_size=8, num_workers=0)
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()))
    assert len(batch) == 4 and dm.skips.count == 1


def test_missing_split_is_a_clear_error(plate_folder):
    with pytest.raises(MissingInputError, match="set `test`"):
        RealPlatesDataModule(train=str(plate_folder)).setup("test")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        RealPlatesDataModule(test="/nonexistent/dir").setup("test")


def test_predict_accepts_unlabelled_names(tmp_path, plate_folder):
    for i, f in enumerate(sorted(plate_folder.glob("*.jpg"))[:3]):
        (tmp_path / f"cam_{i}.jpg").write_bytes(f.read_bytes())
    dm = RealPlatesDataModule(predict=str(tmp_path), num_workers=0)
    dm.setup("predict")
    batch = next(iter(dm.predict_dataloader()))
    assert batch.texts == ["", "", ""] and all(p.endswith(".jpg") for p in batch.paths)


def test_every_source_invalid_is_an_error(tmp_path):
    (tmp_path / "京A12345.jpg").write_bytes(b"bad")
    dm = RealPlatesDataModule(test=str(tmp_path), skip_invalid=True, num_workers=0)
    with pytest.raises(InvalidSampleError, match="no usable images"):
        dm.setup("test")


def test_skip_log_is_per_split(tmp_path, caplog):
    """A file skipped in train is not reported again in val; predict says "in predict"."""
    write_plates(tmp_path / "train", 4)
    write_plates(tmp_path / "val", 4, seed=1)
    (tmp_path / "train" / "京A99999.jpg").write_bytes(b"")
    dm = RealPlatesDataModule(train=str(tmp_path / "train"), val=str(tmp_path / "val"), skip_invalid=True,
                              num_workers=0)  # fmt: skip
    dm.setup("fit")
    assert "skipped 1 invalid samples in train" in caplog.text and "in val" not in caplog.text
    assert dm.split_skips["train"].count == 1 and dm.split_skips["val"].count == 0 and dm.skips.count == 1

    from lightning.pytorch.trainer.states import TrainerFn

    dm = RealPlatesDataModule(predict=str(tmp_path / "train"), skip_invalid=True, num_workers=0)
    dm.setup(TrainerFn.PREDICTING)
    assert "skipped 1 invalid samples in predict" in caplog.text and "TrainerFn" not in caplog.text


def test_predict_streams_instead_of_decoding_everything_at_setup(plate_folder):
    dm = RealPlatesDataModule(predict=str(plate_folder), cache=True, batch_size=5, num_workers=0)
    dm.setup("predict")
    assert dm.datasets["predict"].images is None  # decoded batch by batch in the loader
    assert [len(b) for b in dm.predict_dataloader()] == [5, 5, 2]
