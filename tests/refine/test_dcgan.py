"""DCGANModule (§IV-D): a tiny fit on real crops and uint8 samples."""

import lightning.pytorch as pl
import torch

from lprzoo.data.unpaired import UnpairedPlatesDataModule
from lprzoo.refine import DCGANModule
from tests.conftest import write_plates


def test_tiny_fit_and_sample(tmp_path):
    write_plates(tmp_path / "real", 4)
    data = UnpairedPlatesDataModule(
        real=str(tmp_path / "real"), size=(64, 64), synthetic=False, train_size=4, batch_size=2, num_workers=0
    )
    model = DCGANModule(ngf=4, ndf=4, num_samples=8)
    before = [p.detach().clone() for p in model.G.parameters()]
    trainer = pl.Trainer(
        max_epochs=1, limit_train_batches=2, accelerator="cpu", default_root_dir=str(tmp_path),
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, data)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.G.parameters()))
    assert (tmp_path / "samples" / "dcgan_epoch000.png").is_file()
    images = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert images.shape == (5, 3, 64, 64) and images.dtype == torch.uint8
    assert torch.equal(images, model.sample(5, generator=torch.Generator().manual_seed(0)))
    assert model.G.training  # sampling restores the training mode
