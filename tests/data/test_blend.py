"""BlendedDataModule: real crops blended with renders and pseudo-labels by weight, reproducibly."""

from collections import Counter

import torch
from torch.utils.data import DataLoader

from lprzoo.data.blend import BlendedDataModule, BlendedPlates
from lprzoo.render.config import RenderConfig
from lprzoo.render.plates import EpochIndexSampler, ScriptPlates
from tests.conftest import write_plates


def _source(path: str) -> str:
    return "render" if path.startswith("render:") else "pseudo" if path.startswith("pseudo:") else "real"


def test_shares_follow_the_weights(tmp_path):
    write_plates(tmp_path / "real", 20)
    write_plates(tmp_path / "pseudo", 10, seed=3)
    dm = BlendedDataModule(
        train=str(tmp_path / "real"), real_weight=0.5, render_weight=0.3, pseudo=str(tmp_path / "pseudo"),
        pseudo_weight=0.2, train_size=1000, batch_size=50, num_workers=0,
    )  # fmt: skip
    dm.setup("fit")
    blend = dm.train_set
    indices = list(dm.train_dataloader().sampler)  # what an epoch asks for; the choice needs no image drawn
    counts = Counter(blend.choose(i)[0] for i in indices)
    assert sum(counts.values()) == 1000
    assert abs(counts[0] - 500) < 60 and abs(counts[1] - 300) < 60 and abs(counts[2] - 200) < 50  # real, render, pseudo
    drawn = [_source(blend[i][2]) for i in indices[:12]]  # and the items come from the part chosen
    assert drawn == [("real", "render", "pseudo")[blend.choose(i)[0]] for i in indices[:12]]
    batch = next(iter(dm.train_dataloader()))  # the training step tells the pseudo-labelled items by their paths
    assert batch.from_source("pseudo").tolist() == [_source(p) == "pseudo" for p in batch.paths]
    assert 0 < int(batch.from_source("pseudo").sum()) < len(batch)


def test_renders_are_new_every_epoch_and_batches_do_not_depend_on_workers(tmp_path):
    write_plates(tmp_path / "real", 8)
    from lprzoo.charset import Charset
    from lprzoo.data.real import PlateImages
    from lprzoo.data.sources import read_source

    real = PlateImages(read_source(tmp_path / "real", Charset()))
    blend = BlendedPlates([real, ScriptPlates(8, {"blue": 1.0})], [0.5, 0.5], length=8, seed=1)

    def collect(workers: int, epoch: int = 0):
        sampler = EpochIndexSampler(blend, 1)
        sampler.set_epoch(epoch)
        return [b[0] for b in DataLoader(blend, batch_size=4, sampler=sampler, num_workers=workers)]

    in_process, in_workers = collect(0), collect(2)
    assert len(in_process) == 2 and all(torch.equal(a, b) for a, b in zip(in_process, in_workers))
    assert not all(torch.equal(a, b) for a, b in zip(in_process, collect(0, epoch=1)))


def test_a_missing_pseudo_folder_names_the_command(tmp_path):
    import pytest

    from lprzoo.errors import MissingInputError

    write_plates(tmp_path / "real", 8)
    dm = BlendedDataModule(train=str(tmp_path / "real"), pseudo=str(tmp_path / "nope"), pseudo_weight=0.3,
                           num_workers=0)  # fmt: skip
    with pytest.raises(MissingInputError, match="lprzoo pseudo-label"):
        dm.setup("fit")


def test_the_renders_of_a_blend_take_the_recipes_font_mixes(tmp_path):
    """``cjk_fonts`` / ``latin_fonts`` given to the data module reach the renderer that draws the rehearsal plates."""
    from lprzoo.render.fonts import CJK_WEIGHT_MIX

    write_plates(tmp_path / "real", 8)
    dm = BlendedDataModule(
        train=str(tmp_path / "real"), batch_size=4,
        render=RenderConfig(cjk_fonts=list(CJK_WEIGHT_MIX), latin_fonts=["oswald"]),
        num_workers=0,
    )  # fmt: skip
    dm.setup("fit")
    renders = next(p for p in dm.train_set.parts if isinstance(p, ScriptPlates))
    renderer = renders.renderer("blue")
    assert [f.name for f in renderer.cjk_fonts] == list(CJK_WEIGHT_MIX)
    assert [f.name for f in renderer.latin_fonts] == ["oswald"]
