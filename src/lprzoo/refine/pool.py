"""The history of generated images that CycleGAN's discriminators see (Shrivastava et al. 2017; [44] §4)."""

from __future__ import annotations

import torch


class ImagePool:
    """Holds up to ``size`` past fakes; the discriminators train on a mix of new and past ones ([44]'s ImagePool).

    Until the pool is full, every image is stored and returned as is.  Afterwards each image is, with
    probability ½, returned as is, or else swapped with a random stored image, which is returned instead.

    Args:
        size: images kept (50 in [44]); 0 disables the pool.
        generator: random source for tests; the global torch RNG (seeded by ``seed_everything``) otherwise.
    """

    def __init__(self, size: int = 50, generator: torch.Generator | None = None) -> None:
        self.size = size
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def _rand(self, high: int | None = None) -> float | int:
        if high is None:
            return torch.rand((), generator=self.generator).item()
        return int(torch.randint(high, (), generator=self.generator))

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` fresh fakes -> ``(B, C, H, W)`` fakes to show the discriminator (detached)."""
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():  # (C, H, W)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif self._rand() < 0.5:
                i = self._rand(self.size)
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)
