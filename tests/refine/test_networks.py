"""Shapes and sizes of the GAN networks (paper §III-A, §IV-D)."""

import pytest
import torch

from lprzoo.refine import DCGANDiscriminator, DCGANGenerator, PatchDiscriminator, ResnetGenerator


def num_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_cyclegan_networks_match_the_reference_sizes():
    # junyanz/pytorch-CycleGAN-and-pix2pix prints 11.378 M for resnet_9blocks and 2.765 M for the basic PatchGAN.
    assert num_params(ResnetGenerator(n_blocks=9)) == 11_378_179
    assert num_params(PatchDiscriminator()) == 2_764_737
    assert num_params(ResnetGenerator()) == 7_837_699  # the paper's six blocks


@pytest.mark.parametrize(("size", "patches"), [((48, 160), (4, 18)), ((128, 128), (14, 14))])
def test_generator_keeps_the_size_and_discriminator_scores_patches(size, patches):
    x = torch.rand(2, 3, *size) * 2 - 1  # (B, 3, H, W) in [-1, 1]
    with torch.no_grad():
        y = ResnetGenerator(ngf=8, n_blocks=2)(x)
        scores = PatchDiscriminator(ndf=8)(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert scores.shape == (2, 1, *patches)


def test_generator_rejects_sizes_not_divisible_by_4():
    with pytest.raises(AssertionError, match="divisible by 4"):
        ResnetGenerator(ngf=4, n_blocks=1)(torch.zeros(1, 3, 30, 32))


def test_dcgan_maps_100d_noise_to_64x64x3_and_scores_each_image():
    z = torch.rand(3, 100) * 2 - 1
    with torch.no_grad():
        images = DCGANGenerator(z_dim=100, ngf=8)(z)
        logits = DCGANDiscriminator(ndf=8)(images)
    assert images.shape == (3, 3, 64, 64) and images.abs().max() <= 1
    assert logits.shape == (3, 1)
    convs = [m for m in DCGANDiscriminator(ndf=8).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride) for c in convs] == [((5, 5), (2, 2))] * 4
