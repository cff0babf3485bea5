import torch
from torch.utils.data import DataLoader

from lprzoo.data.script import ScriptDataModule
from lprzoo.render import is_valid_plate
from lprzoo.render.plates import EpochIndexSampler, ScriptPlates


def test_items_depend_only_on_seed_epoch_index():
    a = ScriptPlates(8, {"blue": 1.0, "yellow": 1.0}, seed=3)
    b = ScriptPlates(8, {"blue": 1.0, "yellow": 1.0}, seed=3)
    img_a, text_a, _ = a[8 + 5]  # epoch 1, item 5
    img_b, text_b, _ = b[8 + 5]
    assert torch.equal(img_a, img_b) and text_a == text_b
    assert not torch.equal(a[5][0], img_a)  # another epoch, another plate


def test_specs_follow_weights_and_rules():
    plates = ScriptPlates(400, {"blue": 3.0, "yellow": 1.0}, seed=0)
    kinds = [plates[i][2].split(":")[1] for i in range(400)]
    assert 0.65 < kinds.count("blue") / 400 < 0.85
    assert all(is_valid_plate(plates[i][1], kinds[i]) for i in range(0, 400, 7))


def test_sampler_shards_ranks_and_advances_epochs():
    ds = ScriptPlates(10, {"blue": 1.0})
    sampler = EpochIndexSampler(ds)
    first = list(sampler)
    sampler.set_epoch(2)
    assert sorted(first) == list(range(10))
    assert sorted(sampler) == list(range(20, 30))
    shards = [set(EpochIndexSampler(ds, num_replicas=2, rank=rank)) for rank in (0, 1)]
    assert not shards[0] & shards[1] and len(shards[0] | shards[1]) == 10


def test_batches_identical_for_any_worker_count():
    ds = ScriptPlates(8, {"blue": 1.0}, seed=1)
    collect = lambda w: [b[0] for b in DataLoader(ds, batch_size=4, sampler=EpochIndexSampler(ds, 0), num_workers=w)]  # noqa: E731
    in_process, in_workers = collect(0), collect(2)
    assert len(in_process) == len(in_workers) == 2, "the loader must yield every batch"
    assert all(torch.equal(x, y) for x, y in zip(in_process, in_workers))


def test_datamodule_fixed_validation_set():
    dm = ScriptDataModule(train_size=16, val_size=6, batch_size=4, num_workers=0)
    dm.setup("fit")
    batch = next(iter(dm.val_dataloader()))
    again = ScriptDataModule(train_size=16, val_size=6, batch_size=4, num_workers=0)
    again.setup("fit")
    assert torch.equal(batch.images, next(iter(again.val_dataloader())).images)
    train = next(iter(dm.train_dataloader()))
    assert train.images.shape == (4, 3, 48, 160) and train.targets.shape[1] == 7
