"""How good is a generator ``G: S -> R``? Label retention, realism (Fréchet distance) and colour kept (docs/gan.md).

It sits on the top floor beside :mod:`lprzoo.evaluate` because it needs both a refine-stage generator and a
recognize-stage reader:

- **label retention**: a frozen reader's RA / CRA-C / CRA-NC on G(renders) against the renders' labels (the
  renders' own row is the reference). A generator that redraws the province or blurs a digit loses accuracy.
- **realism**: the Fréchet distance between G(renders) and a folder of real crops (labelled or not), computed by
  torchmetrics' FID with the reader's CNN as the feature extractor (pooled, ``(N, C)``) instead of Inception,
  which cannot be downloaded here and was trained on square photos. Lower is closer to the real crops.
- **colour kept**: the share of refined plates whose colour (:func:`~lprzoo.evaluate.plate_colour`) is still the
  render's, e.g. whether a GAN trained on blue plates keeps a yellow plate yellow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from lprzoo.evaluate import evaluate, plate_colour, rendered


class PooledBackbone(nn.Module):
    """A reader's CNN as a feature extractor: ``uint8 (N, 3, 48, 160)`` -> ``(N, C)``, pooled over H and W."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: Tensor) -> Tensor:
        x = (images.float().div(255) - self.net.mean) / self.net.std  # the CRNN's own normalisation
        return self.net.backbone(x).float().mean(dim=(2, 3))  # (N, C, h, w) -> (N, C)


@torch.no_grad()
def frechet_distance(features: nn.Module, real: Tensor, images: Tensor, batch: int = 256) -> float:
    """FD between ``uint8 (N, 3, 48, 160)`` real crops and images, in ``features``' space."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    fd = FrechetInceptionDistance(feature=features, input_img_size=tuple(real.shape[1:]), reset_real_features=False)
    for start in range(0, len(real), batch):
        fd.update(real[start : start + batch], real=True)
    for start in range(0, len(images), batch):
        fd.update(images[start : start + batch], real=False)
    return float(fd.compute())


@torch.no_grad()
def refine(generator: nn.Module, renders: Tensor, batch: int = 64) -> Tensor:
    """``uint8 (N, 3, 48, 160)`` renders -> G(renders), same shape and dtype (G works in ``[-1, 1]``)."""
    from lprzoo.refine.samples import to_uint8

    fakes = [generator(renders[s : s + batch].float().div(127.5).sub(1)) for s in range(0, len(renders), batch)]
    return to_uint8(torch.cat(fakes))  # (N, 3, 48, 160)


def real_crops(folder: str | Path) -> Tensor:
    """Every crop of a folder (labels not needed): ``uint8 (M, 3, 48, 160)``."""
    from lprzoo.charset import Charset
    from lprzoo.data.real import PlateImages
    from lprzoo.data.sources import read_source

    return PlateImages(read_source(str(folder), Charset(), labelled=False), name=str(folder)).images


def generator_quality(
    generator: nn.Module, reader, real: Tensor, n: int = 1000, specs: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """Label retention, FD to ``real`` and colour kept, for the renders and for G(renders), side by side.

    Args:
        generator: ``G: S -> R`` in eval mode.
        reader: a :class:`~lprzoo.reader.PlateReader` (frozen; it reads and its CNN gives the FD features).
        real: ``uint8 (M, 3, 48, 160)`` crops of the domain G was trained towards.
        n, specs: how many renders of which specs (default blue only).
    """
    renders, labels, spec_names = rendered(n, specs or {"blue": 1.0}, seed=12345)  # away from training seeds
    features = PooledBackbone(reader.net).eval()
    out: dict[str, Any] = {}
    for row, images in (("renders", renders), ("translated", refine(generator, renders))):
        scores = evaluate(reader, images, labels, top_n=(3,), breakdown=False)
        kept = [plate_colour(image) == spec for image, spec in zip(images, spec_names)]
        out[row] = {
            "RA": scores["RA"],
            "CRA-C": scores["CRA-C"],
            "CRA-NC": scores["CRA-NC"],
            "FD": round(frechet_distance(features, real, images), 3),
            "colour_kept": round(sum(kept) / len(kept), 4),
            "colour_kept_by_spec": {
                spec: round(sum(k for k, s in zip(kept, spec_names) if s == spec) / spec_names.count(spec), 4)
                for spec in sorted(set(spec_names))
            },
        }
    return out
