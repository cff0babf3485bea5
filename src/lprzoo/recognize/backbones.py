"""Convolutional feature extractors for the CRNN: Table I (standard), Table VIII (depthwise) and any timm CNN.

Every backbone maps ``(B, 3, 48, 160)`` images to a feature sequence ``(B, C, 1, T)`` and exposes
``out_channels``.  The tables list layers top-down; the code lists them bottom-up (input first).

Interpretation of the tables (see ``docs/architecture.md``): the pooling rows "s:1×2, p:1×0" are read as
width × height, i.e. ``MaxPool2d(kernel=2, stride=(2, 1), padding=(0, 1))`` as in the original CRNN; the rows
"p:2×2, s:2" are 2×2 max-pooling with stride 2.  With a 160×48 input this gives T = 40 time steps.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn_relu(c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, bn: bool = True) -> list:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.ReLU(inplace=True))
    return layers


def _pool_height() -> nn.MaxPool2d:
    """Table I/VIII "s:1×2, p:1×0" (W×H): halve the height, keep the width (+1 column)."""
    return nn.MaxPool2d(kernel_size=2, stride=(2, 1), padding=(0, 1))


class StandardBackbone(nn.Module):
    """Table I: the 8-layer CRNN CNN. Batch norm after the 3rd, 5th, 7th and 8th conv; ReLU after all 8."""

    def __init__(self, in_channels: int = 3, width: float = 1.0) -> None:
        super().__init__()
        c = [max(8, round(n * width)) for n in (64, 128, 256, 512)]
        self.features = nn.Sequential(
            *_conv_bn_relu(in_channels, c[0], 3, padding=1, bn=False),  # (B, 64, 48, 160)
            nn.MaxPool2d(2, 2),  # (B, 64, 24, 80)
            *_conv_bn_relu(c[0], c[1], 3, padding=1, bn=False),
            nn.MaxPool2d(2, 2),  # (B, 128, 12, 40)
            *_conv_bn_relu(c[1], c[2], 3, padding=1),
            *_conv_bn_relu(c[2], c[2], 3, padding=1, bn=False),
            _pool_height(),  # (B, 256, 6, 41)
            *_conv_bn_relu(c[2], c[3], 3, padding=1),
            *_conv_bn_relu(c[3], c[3], 3, padding=1, bn=False),
            _pool_height(),  # (B, 512, 3, 42)
            *_conv_bn_relu(c[3], c[3], 2),  # (B, 512, 2, 41)
            *_conv_bn_relu(c[3], c[3], 2),  # (B, 512, 1, 40)
        )
        self.out_channels = c[3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # (B, 3, 48, 160) -> (B, C, 1, 40)


class DepthwiseSeparable(nn.Sequential):
    """A depthwise k×k conv then a pointwise 1×1 conv, each followed by BN + ReLU (paper Eq. 15-16)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, kernel, stride, padding, groups=c_in, bias=False),
            nn.BatchNorm2d(c_in),
            nn.ReLU(inplace=True),
            *_conv_bn_relu(c_in, c_out, 1),
        )


class DepthwiseBackbone(nn.Module):
    """Table VIII: LightCRNN's CNN, depthwise-separable convolutions with a width multiplier α (§IV-F).

    α scales every layer's channels (Eq. 17); any positive float works, 1.0 and 1.2 are registered.
    """

    def __init__(self, in_channels: int = 3, width_mult: float = 1.0) -> None:
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")
        c = [max(8, round(n * width_mult)) for n in (64, 128, 256, 512)]
        self.features = nn.Sequential(
            *_conv_bn_relu(in_channels, c[0], 3, padding=1),  # (B, 64, 48, 160)
            DepthwiseSeparable(c[0], c[1], 3, stride=2, padding=1),  # (B, 128, 24, 80)
            DepthwiseSeparable(c[1], c[2], 3, stride=2, padding=1),  # (B, 256, 12, 40)
            _pool_height(),  # (B, 256, 6, 41)
            DepthwiseSeparable(c[2], c[3], 3, padding=1),  # (B, 512, 6, 41)
            _pool_height(),  # (B, 512, 3, 42)
            DepthwiseSeparable(c[3], c[3], 2),  # (B, 512, 2, 41)
            DepthwiseSeparable(c[3], c[3], 2),  # (B, 512, 1, 40)
        )
        self.out_channels = c[3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # (B, 3, 48, 160) -> (B, C, 1, 40)


class TimmBackbone(nn.Module):
    """Any timm CNN as the feature extractor, beyond the paper.

    Keeps the deepest stage whose stride is at most ``max_stride`` (8 keeps T = 20 columns at 160 px, enough for
    8-character plates with repeats), prunes the later stages and the head (timm's
    ``prune_intermediate_layers``, so no unused parameters reach DDP), and max-pools the height away.
    """

    def __init__(self, model_name: str = "resnet18", max_stride: int = 8, pretrained: bool = False) -> None:
        super().__init__()
        import timm

        self.body = timm.create_model(model_name, pretrained=pretrained)
        strides = [info["reduction"] for info in self.body.feature_info]
        self.index = max(i for i, r in enumerate(strides) if r <= max_stride)
        self.body.prune_intermediate_layers(indices=(self.index,), prune_norm=True, prune_head=True)
        self.out_channels = self.body.feature_info[self.index]["num_chs"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body.forward_intermediates(x, indices=(self.index,), intermediates_only=True)[-1]  # (B, C, H', W')
        return f.amax(dim=2, keepdim=True)  # (B, C, 1, W')
