"""Generators and discriminators of the GAN stage (paper §III-A, §IV-D), as pure ``nn.Module``s.

- :class:`ResnetGenerator` and :class:`PatchDiscriminator`: CycleGAN's G, F, D_S and D_R, "following the settings
  in [44]" (Zhu et al.; the junyanz reference implementation), with instance normalisation.
- :class:`DCGANGenerator` and :class:`DCGANDiscriminator`: the DCGAN of §IV-D (Radford et al. [27]).

Every network is fully convolutional except the DCGAN pair, so the CycleGAN networks run on the paper's
128 × 128 squares (§IV-C) as well as on the plate's native 48 × 160; the generator needs H and W divisible by 4.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def init_weights(net: nn.Module, std: float = 0.02) -> nn.Module:
    """The reference initialisation of both papers: conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


# ---- CycleGAN (§III-A) ---------------------------------------------------------------------------------------
class ResnetBlock(nn.Module):
    """``x + conv-norm-relu-conv-norm(x)`` with reflection padding (Johnson et al.'s residual block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator (§III-A): "two stride-2 convolutions, six residual blocks and two fractionally-strided
    convolutions with stride 1/2", framed by 7 × 7 convolutions and ending in ``tanh``.

    Args:
        in_ch, out_ch: image channels.
        ngf: filters of the first layer (64 in [44]); the residual blocks run at ``4 * ngf``.
        n_blocks: residual blocks (6 in the paper, [44]'s choice for 128 × 128 images).
    """

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for mult in (1, 2):  # downsample: ngf -> 2 ngf -> 4 ngf
            c = ngf * mult
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), _norm(2 * c), nn.ReLU(True)]
        layers += [ResnetBlock(4 * ngf) for _ in range(n_blocks)]
        for mult in (4, 2):  # upsample: 4 ngf -> 2 ngf -> ngf
            c = ngf * mult
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                _norm(c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_ch, H, W)`` in ``[-1, 1]`` -> ``(B, out_ch, H, W)`` in ``[-1, 1]``; H and W divisible by 4."""
        h, w = x.shape[-2:]
        assert h % 4 == 0 and w % 4 == 0, f"ResnetGenerator needs H and W divisible by 4, got {h}x{w}"
        # (B, C, H, W) -> (B, ngf, H, W) -> (B, 4 ngf, H/4, W/4) -> blocks -> (B, ngf, H, W) -> (B, out_ch, H, W)
        return self.model(x)

    def features(self, x: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """The outputs of ``self.model[i]`` for ``i`` in ``layers`` (CUT's ``encode_only``), ``(B, C_i, H_i, W_i)``.

        Runs the generator only as far as the deepest layer asked for, so encoder layers cost the encoder only.
        """
        wanted, out = set(layers), {}
        for i, layer in enumerate(self.model[: max(layers) + 1]):
            x = layer(x)
            if i in wanted:
                out[i] = x
        return [out[i] for i in layers]

    def channels(self, layers: Sequence[int]) -> list[int]:
        """Channels of :meth:`features`' outputs, read off the layers (no forward pass)."""
        c, out = self.model[1].in_channels, {}
        for i, layer in enumerate(self.model):
            c = getattr(layer, "out_channels", c)
            out[i] = c
        return [out[i] for i in layers]


class PatchDiscriminator(nn.Module):
    """The 70 × 70 PatchGAN (§III-A; Isola et al. [14]): one real/fake score per overlapping 70 × 70 patch.

    Four 4 × 4 convolutions (three of stride 2) widen ``ndf`` to ``8 * ndf``, then a 4 × 4 convolution gives one
    channel of raw scores; no sigmoid, so the same network serves the least-squares, Wasserstein and BCE losses.

    Args:
        in_ch: image channels.
        ndf: filters of the first layer (64 in [44]).
        n_layers: stride-2 convolutions; 3 gives the 70 × 70 receptive field.
    """

    def __init__(self, in_ch: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for n in range(1, n_layers + 1):
            out, stride = ndf * min(2**n, 8), 2 if n < n_layers else 1
            layers += [nn.Conv2d(c, out, 4, stride=stride, padding=1), _norm(out), nn.LeakyReLU(0.2, True)]
            c = out
        layers += [nn.Conv2d(c, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_ch, H, W)`` -> patch scores ``(B, 1, H', W')``: 128 × 128 -> 14 × 14, 48 × 160 -> 4 × 18."""
        # (B, C, H, W) -> (B, ndf, H/2, W/2) -> ... -> (B, 8 ndf, H/8 - 1, W/8 - 1) -> (B, 1, H/8 - 2, W/8 - 2)
        return self.model(x)


# ---- DCGAN (§IV-D) ------------------------------------------------------------------------------------------
class DCGANGenerator(nn.Module):
    """DCGAN's generator (§IV-D): a 100-d ``z`` is projected and reshaped to 4 × 4, then "four fractionally-strided
    convolutions" double the size four times to a 64 × 64 × 3 image.

    Channels halve at each step, ``8 ngf`` at 4 × 4 down to ``ngf`` at 32 × 32 (PyTorch's DCGAN example;
    ``ngf=128`` gives Radford et al.'s 4 × 4 × 1024).  Kernels are 5 × 5 as in Radford et al.'s code, with batch
    normalisation and ReLU everywhere but the ``tanh`` output.

    Args:
        z_dim: size of the noise vector (100 in the paper, drawn uniformly from ``[-1, 1]``).
        ngf: width multiplier.
    """

    def __init__(self, z_dim: int = 100, ngf: int = 64) -> None:
        super().__init__()
        self.z_dim, c = z_dim, 8 * ngf
        self.project = nn.Sequential(nn.Linear(z_dim, c * 16, bias=False), nn.Unflatten(1, (c, 4, 4)))
        layers: list[nn.Module] = [nn.BatchNorm2d(c), nn.ReLU(True)]
        for _ in range(3):  # 4 -> 8 -> 16 -> 32
            layers += [self._up(c, c // 2), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [self._up(c, 3), nn.Tanh()]  # 32 -> 64
        self.model = nn.Sequential(*layers)
        init_weights(self)

    @staticmethod
    def _up(c_in: int, c_out: int) -> nn.ConvTranspose2d:
        return nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=1, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, z_dim)`` -> ``(B, 3, 64, 64)`` in ``[-1, 1]``."""
        x = self.project(z)  # (B, 8 ngf, 4, 4)
        return self.model(x)  # (B, 4 ngf, 8, 8) -> ... -> (B, 3, 64, 64)


class DCGANDiscriminator(nn.Module):
    """DCGAN's discriminator (§IV-D): "a fully-connected layer following four stride-2 convolutions with kernel
    size of 5 × 5", i.e. 64 × 64 -> 4 × 4 with widths ``ndf .. 8 ndf``, LeakyReLU(0.2) and batch normalisation
    (not on the first layer), then one logit per image.

    Args:
        ndf: width multiplier.
    """

    def __init__(self, ndf: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate((ndf, 2 * ndf, 4 * ndf, 8 * ndf)):  # 64 -> 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(c_in, c, 5, stride=2, padding=2, bias=i == 0)]
            layers += [nn.BatchNorm2d(c)] if i else []
            layers += [nn.LeakyReLU(0.2, True)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c_in * 4 * 4, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, 64, 64)`` in ``[-1, 1]`` -> logits ``(B, 1)`` (real vs. generated)."""
        assert x.shape[-2:] == (64, 64), f"DCGANDiscriminator expects 64 x 64 images, got {tuple(x.shape[-2:])}"
        x = self.features(x)  # (B, 8 ndf, 4, 4)
        return self.fc(x.flatten(1))  # (B, 1)
