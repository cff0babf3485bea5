"""Train-only augmentation of real crops, built from ``torchvision.transforms.v2``.

Real crops vary in detector framing, tilt, blur, exposure and colour; these transforms imitate that.  No
horizontal flip: it would mirror the characters (the CycleGAN's flip augmentation is a different matter).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.transforms import v2


class PlateAugment(nn.Module):
    """Geometric jitter (affine, perspective), photometric jitter and blur on ``uint8 (3, H, W)`` plates.

    Args:
        degrees: max rotation.
        translate: max shift as a fraction of (width, height): detector framing.
        scale: zoom range; < 1 shows more border, > 1 crops into the characters' margin.
        shear: max horizontal shear in degrees (slanted views).
        perspective: distortion scale of ``RandomPerspective``; ``p_perspective`` its probability.
        brightness, contrast, saturation, hue: ``ColorJitter`` ranges.
        p_blur: probability of a Gaussian blur with sigma in ``blur_sigma``.
        p_grayscale: probability of dropping colour (night IR shots).
        p_erase: probability of erasing a small patch (dirt, occluders, bolts).
    """

    def __init__(
        self,
        degrees: float = 4.0,
        translate: tuple[float, float] = (0.04, 0.08),
        scale: tuple[float, float] = (0.88, 1.08),
        shear: float = 8.0,
        perspective: float = 0.15,
        p_perspective: float = 0.3,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.05,
        p_blur: float = 0.3,
        blur_sigma: tuple[float, float] = (0.1, 1.2),
        p_grayscale: float = 0.05,
        p_erase: float = 0.1,
    ) -> None:
        super().__init__()
        self.transform = v2.Compose(
            [
                v2.RandomApply([v2.RandomPerspective(perspective, p=1.0)], p=p_perspective),
                v2.RandomAffine(degrees, translate=translate, scale=scale, shear=(-shear, shear)),
                v2.ColorJitter(brightness, contrast, saturation, hue),
                v2.RandomApply([v2.GaussianBlur(5, sigma=blur_sigma)], p=p_blur),
                v2.RandomGrayscale(p_grayscale),
                v2.RandomErasing(p_erase, scale=(0.005, 0.03), ratio=(0.3, 3.0), value=0),
            ]
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.transform(image)  # uint8 (3, H, W) -> uint8 (3, H, W)
