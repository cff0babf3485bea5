import pytest
import torch
import torch.nn.functional as F

import lprzoo
from lprzoo.charset import Charset
from lprzoo.recognize.backbones import DepthwiseBackbone, StandardBackbone
from lprzoo.recognize.crnn import PRESETS, LightCRNNArch, StandardCRNNArch, TimmCRNNArch, architecture, canonical_call


@pytest.mark.parametrize("name", lprzoo.list_models())
def test_every_registered_model_runs_forward_and_ctc_backward(name):
    torch.manual_seed(0)
    net = lprzoo.create_model(name)
    images = torch.rand(2, 3, 48, 160)
    logits = net(images)  # (B, T, K)
    assert logits.shape[0] == 2 and logits.shape[2] == 68
    assert logits.shape[1] >= 2 * 8 - 1, "T must fit an 8-character plate with repeated characters"
    targets, lengths = Charset().encode_batch(["京A12345", "皖AD11166"])
    log_probs = logits.log_softmax(-1).transpose(0, 1)
    loss = F.ctc_loss(log_probs, targets, torch.full((2,), logits.shape[1]), lengths, zero_infinity=True)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_table_shapes_give_40_time_steps():
    x = torch.rand(1, 3, 48, 160)
    assert StandardBackbone()(x).shape == (1, 512, 1, 40)
    assert DepthwiseBackbone(width_mult=1.2)(x).shape == (1, 614, 1, 40)


def test_width_multiplier_scales_channels_and_size():
    small = sum(p.numel() for p in lprzoo.create_model("lightcrnn-1.0").backbone.parameters())
    big = sum(p.numel() for p in lprzoo.create_model("lightcrnn-1.2").backbone.parameters())
    std = sum(p.numel() for p in lprzoo.create_model("crnn").backbone.parameters())
    assert small < big < std
    with pytest.raises(ValueError):
        DepthwiseBackbone(width_mult=0)


def test_depthwise_backbone_uses_grouped_convolutions():
    convs = [m for m in DepthwiseBackbone().modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(c.groups == c.in_channels > 1 for c in convs) == 5  # Table VIII: five depthwise layers


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_its_registered_network(name):
    """A typed preset builds what its registered name builds, and maps back to that name (records stay the same)."""
    arch = PRESETS[name]
    net, registered = arch.build(), lprzoo.create_model(name)
    assert repr(net) == repr(registered)
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in registered.state_dict().items()}
    assert arch.registry_call() == (name, {}) and architecture(name) == arch


@pytest.mark.parametrize(
    "arch",
    [LightCRNNArch(width_mult=0.5), StandardCRNNArch(width=0.25, hidden=32), TimmCRNNArch(max_stride=4, hidden=64)],
    ids=repr,
)
def test_a_typed_architecture_is_rebuilt_from_its_registry_call(arch):
    name, kwargs = arch.registry_call()
    assert name == arch.builder and architecture(name, kwargs) == arch
    assert repr(lprzoo.create_model(name, **kwargs)) == repr(arch.build())


def test_equal_networks_have_one_canonical_call():
    assert LightCRNNArch(width_mult=0.5).registry_call() == ("lightcrnn", {"width_mult": 0.5, "hidden": 256})
    same = [canonical_call("lightcrnn-1.2"), canonical_call("lightcrnn", {"width_mult": 1.2})]
    assert same == [canonical_call(LightCRNNArch(width_mult=1.2))] * 2 == [("lightcrnn-1.2", {})] * 2
    assert canonical_call("lightcrnn") == ("lightcrnn-1.0", {})  # the builder's own default width
    assert canonical_call("lightcrnn", {"width_mult": 0.5}) != canonical_call("lightcrnn-1.0")
    assert canonical_call("some-plugin", {"depth": 3}) == ("some-plugin", {"depth": 3})  # no typed class: unchanged
