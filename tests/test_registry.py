import pytest
import torch

import lprzoo
from lprzoo.registry import Registry


def test_duplicate_name_raises():
    reg = Registry("thing")
    reg.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(lambda: 2)


def test_get_unknown_lists_registered_names():
    with pytest.raises(KeyError, match="lightcrnn-1.2"):
        lprzoo.create_model("lightcrnn-9")


def test_list_models_fnmatch():
    assert lprzoo.list_models("lightcrnn*") == ["lightcrnn", "lightcrnn-1.0", "lightcrnn-1.2"]
    assert "crnn" in lprzoo.list_models()
    assert all(n.startswith("test-") for n in lprzoo.list_models("test-*"))
    assert not any(n.startswith("test-") for n in lprzoo.list_models(exclude="test-*"))


def test_create_model_passes_kwargs():
    net = lprzoo.create_model("lightcrnn", width_mult=0.5, num_classes=75)
    assert net(torch.rand(1, 3, 48, 160)).shape == (1, 40, 75)
