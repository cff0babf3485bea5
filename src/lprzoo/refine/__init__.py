"""Refine rendered plates with GANs (paper §III-A, §IV-C, §IV-D).

- :mod:`~lprzoo.refine.networks`: ResNet generator, 70 × 70 PatchGAN, DCGAN generator and discriminator.
- :mod:`~lprzoo.refine.adversarial`: one class per adversarial strategy (``LSGAN``, ``WGAN``, ``WGANGP``, ``GAN``),
  chosen in a recipe by ``class_path``.
- :class:`CycleGANModule` (CycleGAN / CycleWGAN), :class:`CUTModule` (FastCUT / CUT, one-sided) and
  :class:`DCGANModule`, trained on
  :class:`~lprzoo.data.unpaired.UnpairedPlatesDataModule` batches.
"""

from __future__ import annotations

from lprzoo.refine.adversarial import GAN, LSGAN, WGAN, WGANGP, AdversarialStrategy
from lprzoo.refine.cut import CUTModule
from lprzoo.refine.cyclegan import CycleGANModule, LinearDecay
from lprzoo.refine.dcgan import DCGANModule
from lprzoo.refine.networks import DCGANDiscriminator, DCGANGenerator, PatchDiscriminator, ResnetGenerator
from lprzoo.refine.pool import ImagePool

__all__ = [
    "GAN",
    "LSGAN",
    "WGAN",
    "WGANGP",
    "AdversarialStrategy",
    "CUTModule",
    "CycleGANModule",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "DCGANModule",
    "ImagePool",
    "LinearDecay",
    "PatchDiscriminator",
    "ResnetGenerator",
]
