"""CUTModule (FastCUT): PatchNCE behaves as a contrastive loss, a tiny fit trains G, D_R and the patch MLP, and its
checkpoints translate like a CycleGAN's."""

from pathlib import Path

import lightning.pytorch as pl
import pytest
import torch

from lprzoo.refine import LSGAN, WGAN, CUTModule, ResnetGenerator
from lprzoo.refine.cut import PatchSampleMLP, patch_nce_loss
from lprzoo.refine.generators import load_generator
from tests.refine.test_cyclegan import changed, fit_on_tiny_plates, snapshot

TINY = {"ngf": 8, "ndf": 8, "n_blocks": 1, "nce_layers": (0, 4, 7, 10), "num_patches": 16, "nce_dim": 32}


def test_patch_nce_is_low_when_each_patch_matches_its_own_place_and_high_when_shuffled() -> None:
    torch.manual_seed(0)
    keys = torch.nn.functional.normalize(torch.randn(2 * 16, 32), dim=1)  # B = 2 images of P = 16 patches
    matched = patch_nce_loss(keys.clone(), keys, batch_size=2)
    shuffled = patch_nce_loss(keys[torch.randperm(32)], keys, batch_size=2)
    assert matched.shape == (32,)
    assert matched.mean() < 0.05 < 2.0 < shuffled.mean()  # log(1 + P) ~ 2.8 for an uninformative query


def test_the_patch_mlp_samples_the_same_places_for_query_and_key() -> None:
    G = ResnetGenerator(ngf=8, n_blocks=1)
    layers = [0, 4, 7, 10]
    features = G.features(torch.rand(3, 3, 32, 48), layers)
    assert [f.shape[1] for f in features] == G.channels(layers) == [3, 16, 32, 32]
    assert [tuple(f.shape[-2:]) for f in features] == [(38, 54), (16, 24), (8, 12), (8, 12)]
    mlp = PatchSampleMLP(G.channels(layers), dim=32)
    keys, ids = mlp(features, num_patches=64)
    queries, same_ids = mlp(features, num_patches=64, patch_ids=ids)
    assert [k.shape for k in keys] == [(3 * 64, 32)] * 4 and all(torch.equal(a, b) for a, b in zip(ids, same_ids))
    assert all(torch.allclose(q, k) for q, k in zip(queries, keys))  # same input, same places: same embeddings
    assert torch.allclose(keys[0].norm(dim=1), torch.ones(3 * 64))


def tiny_cut_fit(root: Path, strategy, batches: int, **module_args) -> tuple[CUTModule, dict, pl.Trainer]:
    model = CUTModule(strategy, num_samples=3, **{**TINY, **module_args})
    before = {name: snapshot(getattr(model, name)) for name in ("G", "D_R", "patch_mlp")}
    return model, before, fit_on_tiny_plates(root, model, batches, flip=False)


@pytest.mark.parametrize("strategy", [LSGAN(), WGAN(n_critic=2)], ids=lambda s: type(s).__name__)
def test_tiny_fit_trains_g_d_and_the_patch_mlp_and_writes_samples(tmp_path, strategy):
    model, before, trainer = tiny_cut_fit(tmp_path, strategy, batches=2, lambda_identity_nce=1.0)
    assert all(changed(getattr(model, name), before[name]) for name in before)
    assert {"train/D_R", "train/G", "train/G_adv", "train/nce", "train/nce_idt"} <= set(trainer.callback_metrics)
    assert 0 < trainer.callback_metrics["train/nce"] < 10 * 6  # λ × PatchNCE, PatchNCE ≤ log(1 + P) early on
    png = tmp_path / "samples" / "cut_epoch000.png"
    from PIL import Image

    assert png.is_file() and Image.open(png).size == (3 * 34 + 2, 4 * 34 + 2)  # rows S, G(S), R, G(R)
    assert not hasattr(model, "F") and not hasattr(model, "D_S")  # one-sided


def test_a_cut_checkpoint_translates_like_a_cyclegan_one(tmp_path):
    model = CUTModule(**TINY)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "cut.ckpt")
    G = load_generator(tmp_path / "cut.ckpt")
    s = torch.rand(2, 3, 48, 160) * 2 - 1
    assert torch.allclose(G(s), model.G.eval()(s), atol=1e-6)


def test_nce_layers_beyond_the_generator_are_refused():
    with pytest.raises(ValueError, match="nce_layers"):
        CUTModule(ngf=8, ndf=8, n_blocks=1, nce_layers=(0, 40))
