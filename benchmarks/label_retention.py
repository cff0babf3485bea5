"""Does a generator keep the labels of the plates it refines, and do its plates look real? (docs/gan.md)

    python benchmarks/label_retention.py --generators runs/tables/gan_wgan_keep/checkpoints/last.ckpt \
        runs/tables/gan_lsgan_keep/checkpoints/last.ckpt \
        --readers runs/script_only/checkpoints/last.ckpt runs/tables/ft10_script/checkpoints/last.ckpt \
        --real ../shared/data/real/val

Each row is one image source over the same ``--n`` renders (seed ``--seed``, not a training seed): the renders
themselves, then each generator's G(render). Each column group is one frozen recognizer reading them (greedy
decoding, RA / CRA-C / CRA-NC against the render's label). A generator that redraws the province or blurs a
digit loses accuracy against a reader that reads the renders well; a reader trained on real crops scores images
higher the more they look like what it was trained on, as long as the label survived.

Realism: the Fréchet distance (torchmetrics' FID with a plate feature extractor instead of Inception, which
cannot be downloaded here and was trained on square photos) between each row's images and the ``--real`` crops,
in the feature space of a recognizer's CNN (``--fd_reader``, by default the first reader; pooled, ``(N, C)``); one
trained on real crops sees what real crops look like. Lower is closer to the real crops.
G is applied at the size it was trained at (128×128 for the paper's setting) and resized back to 48×160.

Colour: the share of each row's plates whose saturated pixels are mostly of the spec's hue (``plate_colour``), i.e.
whether a GAN trained on blue plates keeps a yellow plate yellow (``--spec yellow``). ``--count_colours DIR ...``
counts the colours of real crops instead (how few yellow plates there are).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torchmetrics.image.fid import FrechetInceptionDistance

from lprzoo.charset import Charset
from lprzoo.data.real import PlateImages
from lprzoo.data.sources import read_source
from lprzoo.decode import greedy_decode
from lprzoo.evaluate import plate_colour
from lprzoo.metrics import PlateMetrics
from lprzoo.recognize.module import CRNNModule
from lprzoo.refine.samples import to_uint8
from lprzoo.refine.translate import load_generator
from lprzoo.render.plates import ScriptPlates


@torch.no_grad()
def read(reader: CRNNModule, images: torch.Tensor, texts: list[str], batch: int = 128) -> dict[str, float]:
    """Greedy accuracy of ``reader`` on ``uint8 (N, 3, 48, 160)`` images against ``texts``."""
    metrics = PlateMetrics(top_n=())
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch].float().div(255)  # (b, 3, 48, 160) in [0, 1]
        preds = greedy_decode(reader(chunk), reader.charset)
        metrics.update([p.text for p in preds], texts[start : start + batch])
    return {k: float(v) for k, v in metrics.compute().items() if k in ("RA", "CRA-C", "CRA-NC")}


class PooledBackbone(nn.Module):
    """A recognizer's CNN as a feature extractor: ``uint8 (N, 3, 48, 160)`` -> ``(N, C)``, pooled over H and W."""

    def __init__(self, reader: CRNNModule) -> None:
        super().__init__()
        self.backbone = reader.model.backbone

    def forward(self, images: Tensor) -> Tensor:
        return self.backbone(images.float().div(255)).float().mean(dim=(2, 3))  # (N, C, h, w) -> (N, C)


@torch.no_grad()
def frechet_distance(features: nn.Module, real: Tensor, images: Tensor, batch: int = 256) -> float:
    """FD between ``uint8 (N, 3, 48, 160)`` real crops and images, in ``features``' space."""
    fd = FrechetInceptionDistance(feature=features, input_img_size=(3, 48, 160), reset_real_features=False)
    for start in range(0, len(real), batch):
        fd.update(real[start : start + batch], real=True)
    for start in range(0, len(images), batch):
        fd.update(images[start : start + batch], real=False)
    return float(fd.compute())


@torch.no_grad()
def refine(path: Path, renders: Tensor) -> Tensor:
    """``uint8 (N, 3, 48, 160)`` renders -> G(renders) (at G's training size, resized back), same shape and dtype."""
    G = load_generator(path)
    fake = torch.cat([G(renders[s : s + 64].float().div(127.5).sub(1)) for s in range(0, len(renders), 64)])
    return to_uint8(fake)  # (N, 3, 48, 160)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generators", nargs="+", type=Path, default=[], help="CycleGANModule checkpoints")
    parser.add_argument("--readers", nargs="+", type=Path, default=[], help="CRNNModule checkpoints")
    parser.add_argument("--count_colours", nargs="+", type=Path, help="only count plate colours in these folders")
    parser.add_argument("--n", type=int, default=1000, help="renders per row")
    parser.add_argument("--seed", type=int, default=12345, help="render seed (keep it away from training seeds)")
    parser.add_argument("--spec", default="blue")
    parser.add_argument("--real", type=Path, help="real crops for the Fréchet distance (e.g. real/val)")
    parser.add_argument("--fd_reader", type=Path, help="CRNNModule whose CNN gives the FD features (default: 1st)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.count_colours:
        for folder in args.count_colours:
            crops = PlateImages(read_source(str(folder), Charset(), labelled=False), name=str(folder))
            counts = Counter(plate_colour(crops[i][0]) for i in range(len(crops)))
            print(f"{folder}: {len(crops)} crops, " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
        return
    if not args.readers:
        parser.error("--readers is required (unless --count_colours)")

    plates = ScriptPlates(args.n, {args.spec: 1.0}, seed=args.seed)
    items = [plates[i] for i in range(args.n)]
    renders = torch.stack([it[0] for it in items])  # uint8 (N, 3, 48, 160)
    texts = [it[1] for it in items]
    readers = [CRNNModule.load_from_checkpoint(p, map_location="cpu", weights_only=True).eval() for p in args.readers]

    real = None
    if args.real:
        crops = PlateImages(read_source(str(args.real), Charset(), labelled=False), name="real crops")
        real = torch.stack([crops[i][0] for i in range(len(crops))])  # uint8 (M, 3, 48, 160)
        fd_reader = readers[0]
        if args.fd_reader:
            fd_reader = CRNNModule.load_from_checkpoint(args.fd_reader, map_location="cpu", weights_only=True)
        features = PooledBackbone(fd_reader).eval()

    sources = {"renders": renders}
    for path in args.generators:
        t0 = time.perf_counter()
        sources[str(path)] = refine(path, renders)  # uint8 (N, 3, 48, 160)
        print(f"translated {args.n} with {path} in {time.perf_counter() - t0:.1f} s")

    header = " | ".join(f"{p.parent.parent.name}/{p.stem} RA / CRA-C / CRA-NC" for p in args.readers)
    fd_header = f" FD to {len(real)} real crops |" if real is not None else ""
    print(f"\n{args.n} {args.spec} renders, seed {args.seed}; readers (columns): greedy, %\n")
    print(f"| images | {header} |{fd_header} {args.spec} kept |")
    print(f"|---|{'---|' * (len(readers) + (real is not None) + 1)}")
    for name, images in sources.items():
        cells = [read(r, images, texts) for r in readers]
        row = " | ".join(f"{100 * c['RA']:.1f} / {100 * c['CRA-C']:.1f} / {100 * c['CRA-NC']:.1f}" for c in cells)
        fd = f" {frechet_distance(features, real, images):.2f} |" if real is not None else ""
        kept = np.mean([plate_colour(image) == args.spec for image in images])
        print(f"| {name} | {row} |{fd} {100 * kept:.1f} % |")


if __name__ == "__main__":
    main()
