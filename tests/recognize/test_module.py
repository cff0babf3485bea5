import pytest
import torch

from lprzoo.charset import CharsetMismatchError
from lprzoo.recognize.module import CRNNModule


def save_tiny_checkpoint(path, extra_chars=""):
    module = CRNNModule(arch="test-lightcrnn-tiny", extra_chars=extra_chars)
    ckpt = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}
    module.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return module


def test_init_from_loads_weights_when_fit_starts(tmp_path):
    source = save_tiny_checkpoint(tmp_path / "pre.ckpt")
    module = CRNNModule(arch="test-lightcrnn-tiny", init_from=str(tmp_path / "pre.ckpt"))
    assert not torch.equal(module.model.head.fc.weight, source.model.head.fc.weight)
    module.setup("fit")
    loaded, expected = module.model.state_dict(), source.model.state_dict()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_init_from_missing_names_the_command(tmp_path):
    module = CRNNModule(arch="test-lightcrnn-tiny", init_from=str(tmp_path / "none.ckpt"))
    with pytest.raises(FileNotFoundError, match="train it first"):
        module.setup("fit")


def test_init_from_other_charset_is_refused(tmp_path):
    save_tiny_checkpoint(tmp_path / "pre.ckpt", extra_chars="警")
    with pytest.raises(CharsetMismatchError):
        CRNNModule(arch="test-lightcrnn-tiny", init_from=str(tmp_path / "pre.ckpt")).setup("fit")


def test_checkpoint_of_another_charset_refused_on_load():
    module = CRNNModule(arch="test-lightcrnn-tiny")
    with pytest.raises(CharsetMismatchError, match="警"):
        module.on_load_checkpoint({"charset": module.charset.chars + "警"})


def test_forward_returns_log_probabilities():
    module = CRNNModule(arch="test-lightcrnn-tiny").eval()
    log_probs = module(torch.rand(2, 3, 48, 160))
    assert log_probs.shape == (2, 40, 68)
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2, 40), atol=1e-5)
