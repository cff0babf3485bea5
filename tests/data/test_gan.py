"""GANGeneratedDataModule (§IV-C): GAN plates from a translate folder or translated on the fly, as PlateBatch."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lprzoo.batch import PlateBatch
from lprzoo.charset import Charset
from lprzoo.data.gan import GANGeneratedDataModule, RandomPlateCrop, TranslatedPlates
from lprzoo.refine.translate import translate
from lprzoo.render import is_valid_plate
from lprzoo.render.plates import ScriptPlates
from tests.conftest import write_plates
from tests.refine.test_translate import save_cyclegan


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_cyclegan(tmp_path / "gan" / "g.ckpt")


def check_batch(batch: PlateBatch, size: int) -> None:
    assert isinstance(batch, PlateBatch) and len(batch) == size
    assert batch.images.shape == (size, 3, 48, 160) and batch.images.dtype == torch.float32
    assert 0.0 <= batch.images.min() and batch.images.max() <= 1.0
    assert all(is_valid_plate(text, "blue") for text in batch.texts), batch.texts
    assert batch.target_lengths.tolist() == [7] * size
    assert [Charset().decode(t.tolist()) for t in batch.targets] == batch.texts


def test_registered_and_needs_exactly_one_source():
    with pytest.raises(ValueError, match="exactly one of `folder`"):
        GANGeneratedDataModule()
    with pytest.raises(ValueError, match="exactly one of `folder`"):
        GANGeneratedDataModule(folder="a", generator="b")


def test_from_a_translate_folder_with_random_crops(tmp_path, ckpt):
    out = tmp_path / "translated"
    translate(str(ckpt), str(out), n=10, batch_size=5, num_workers=0, progress=False)
    write_plates(tmp_path / "real_val", 4)
    dm = GANGeneratedDataModule(
        folder=str(out), train_size=20, val=str(tmp_path / "real_val"), test=str(tmp_path / "real_val"),
        batch_size=5, num_workers=0,
    )  # fmt: skip
    dm.setup("fit")
    assert len(dm.datasets["train"]) == 20  # 10 images, two random crops each per epoch
    assert len(dm.datasets["val"]) == 4  # real crops
    check_batch(next(iter(dm.train_dataloader())), 5)
    train = dm.datasets["train"]
    torch.manual_seed(0)
    assert train[0][1] == train[10][1] and not torch.equal(train[0][0], train[10][0])  # one image, two crops
    dm.setup("test")
    assert len(next(iter(dm.test_dataloader()))) == 4


def test_folder_without_val_holds_out_gan_plates(tmp_path, ckpt):
    out = tmp_path / "translated"
    translate(str(ckpt), str(out), n=10, batch_size=5, num_workers=0, progress=False)
    dm = GANGeneratedDataModule(folder=str(out), val_size=3, batch_size=4, num_workers=0)
    dm.setup("fit")
    val_paths = {s.path for s in dm.datasets["val"].samples}
    train_paths = {s.path for s in dm.datasets["train"].images.samples}
    assert len(val_paths) == 3 and len(train_paths) == 7 and not val_paths & train_paths


def test_on_the_fly_translation_matches_translate(tmp_path, ckpt):
    dm = GANGeneratedDataModule(generator=str(ckpt), train_size=8, val_size=4, crop=None, batch_size=4, num_workers=0)
    dm.setup("fit")
    assert isinstance(dm.datasets["train"], TranslatedPlates) and len(dm.datasets["val"]) == 4
    loader = dm.train_dataloader()
    batch = next(iter(loader))
    check_batch(batch, 4)
    assert all(p.startswith("gan:blue:0:") for p in batch.paths)
    check_batch(next(iter(dm.val_dataloader())), 4)

    # epoch 0, item i of the on-the-fly set is image i of `lprzoo translate` with the same seed
    out = tmp_path / "translated"
    translate(str(ckpt), str(out), n=8, batch_size=8, num_workers=0, progress=False)
    files = sorted(out.glob("*.png"))
    renders = ScriptPlates(8, {"blue": 1.0})
    for image, text, path in dm.datasets["train"].__getitems__([0, 5]):
        i = int(path.rsplit(":", 1)[1])
        assert text == renders[i][1] and files[i].name.endswith(f"_{text}.png")
        on_disk = torch.from_numpy(np.asarray(Image.open(files[i]).convert("RGB"))).permute(2, 0, 1)
        assert (image.int() - on_disk.int()).abs().max() <= 1


def test_translated_plates_pickle_without_generators(ckpt):
    ds = TranslatedPlates(ScriptPlates(4, {"blue": 1.0}), [str(ckpt)], RandomPlateCrop())
    ds[0]  # loads the generator in this process
    assert ds._translator is not None and pickle.loads(pickle.dumps(ds))._translator is None


def test_missing_inputs_name_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="produce it with `lprzoo translate"):
        GANGeneratedDataModule(folder=str(tmp_path / "nope")).setup("fit")
    with pytest.raises(FileNotFoundError, match="lprzoo fit --config recipes/cyclewgan.yaml"):
        GANGeneratedDataModule(generator=str(tmp_path / "nope.ckpt")).setup("fit")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "translate.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="unfinished translation"):
        GANGeneratedDataModule(folder=str(tmp_path / "half")).setup("fit")


def test_on_the_fly_in_a_worker_process(ckpt):
    dm = GANGeneratedDataModule(generator=str(ckpt), train_size=4, val_size=0, batch_size=4, num_workers=1)
    dm.setup("fit")
    check_batch(next(iter(dm.train_dataloader())), 4)  # the worker loads its own generator copy
    assert dm.datasets["train"]._translator is None  # ... and the main process never did
