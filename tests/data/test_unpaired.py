"""UnpairedPlatesDataModule: rendered (S) and real (R) plates for the GANs (paper §IV-C)."""

import numpy as np
import pytest
import torch

from lprzoo.data.unpaired import GANTransform, UnpairedPlatesDataModule
from lprzoo.render import is_valid_plate
from tests.conftest import write_plates


@pytest.fixture
def real(tmp_path):
    write_plates(tmp_path / "real", 3)
    return str(tmp_path / "real")


def module(real: str, **kwargs) -> UnpairedPlatesDataModule:
    dm = UnpairedPlatesDataModule(real=real, num_workers=0, **{"train_size": 6, "batch_size": 2, **kwargs})
    dm.setup("fit")
    return dm


def test_native_batches_pair_rendered_and_real_plates_in_minus_one_one(real):
    batch = next(iter(module(real).train_dataloader()))
    assert set(batch) == {"S", "R", "S_text"}
    for key in ("S", "R"):
        assert batch[key].shape == (2, 3, 48, 160) and batch[key].dtype == torch.float32
        assert -1 <= batch[key].min() and batch[key].max() <= 1 and batch[key].min() < 0 < batch[key].max()
    assert len(batch["S_text"]) == 2 and all(is_valid_plate(t, "blue") for t in batch["S_text"])


def test_paper_squares_and_an_epoch_longer_than_the_real_set(real):
    dm = module(real, size=(128, 128), load_size=(143, 143), flip=True, train_size=7, batch_size=1)
    batches = list(dm.train_dataloader())
    assert len(batches) == 7 > len(dm.train_set.real)  # real crops are drawn with replacement
    assert batches[0]["S"].shape == batches[0]["R"].shape == (1, 3, 128, 128)


def test_items_are_seeded_by_epoch_and_index(real):
    ds = module(real).train_set
    a, b, next_epoch = ds[1], ds[1], ds[6 + 1]
    assert torch.equal(a["S"], b["S"]) and torch.equal(a["R"], b["R"]) and a["S_text"] == b["S_text"]
    assert not torch.equal(a["S"], next_epoch["S"])


def test_real_only_for_dcgan(real):
    batch = next(iter(module(real, synthetic=False, size=(64, 64)).train_dataloader()))
    assert set(batch) == {"R"} and batch["R"].shape == (2, 3, 64, 64)


def test_transform_crops_and_flips():
    image = torch.arange(48 * 160, dtype=torch.float32).view(1, 48, 160).expand(3, 48, 160).div(48 * 160 / 255).byte()
    transform = GANTransform((32, 32), load_size=(40, 40), flip=True)
    outs = [transform(image, np.random.default_rng(i)) for i in range(20)]
    assert all(o.shape == (3, 32, 32) for o in outs)
    mirrored = [bool(o[0, 0, 0] > o[0, 0, -1]) for o in outs]  # the ramp grows left to right unless flipped
    assert any(mirrored) and not all(mirrored)
    assert len({o[0, 0, 0].item() for o in outs}) > 1  # crops move
    with pytest.raises(ValueError, match="load_size"):
        GANTransform((128, 128), load_size=(100, 143))


def test_missing_real_data_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no/such/folder"):
        UnpairedPlatesDataModule(real=str(tmp_path / "no/such/folder")).setup("fit")
    with pytest.raises(ValueError, match="set `real`"):
        UnpairedPlatesDataModule().setup("fit")
