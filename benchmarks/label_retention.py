"""Does a generator keep the labels of the plates it refines, and do its plates look real? (docs/gan.md)

    python benchmarks/label_retention.py --generators cyclewgan-blue runs/cyclewgan_target/checkpoints/last.ckpt \
        --readers lightcrnn-1.2-script lightcrnn-1.2-adapt --real ../shared/data/real/val --spec blue

Generators and readers are zoo names or checkpoint files. The measures are :mod:`lprzoo.translation_quality`'s
(also recorded in every zoo generator's entry by ``lprzoo publish-generator``).

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

import lprzoo
from lprzoo.charset import Charset
from lprzoo.data.real import PlateImages
from lprzoo.data.sources import read_source
from lprzoo.evaluate import evaluate, plate_colour, rendered
from lprzoo.refine.generators import load_generator
from lprzoo.translation_quality import PooledBackbone, frechet_distance, real_crops, refine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generators", nargs="+", default=[], help="CycleGANModule checkpoints or zoo generators")
    parser.add_argument("--readers", nargs="+", default=[], help="recognizers: zoo names or checkpoints")
    parser.add_argument("--count_colours", nargs="+", type=Path, help="only count plate colours in these folders")
    parser.add_argument("--n", type=int, default=1000, help="renders per row")
    parser.add_argument("--seed", type=int, default=12345, help="render seed (keep it away from training seeds)")
    parser.add_argument("--spec", default="blue")
    parser.add_argument("--real", type=Path, help="real crops for the Fréchet distance (e.g. real/val)")
    parser.add_argument("--fd_reader", help="recognizer whose CNN gives the FD features (default: the first reader)")
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

    renders, texts, _ = rendered(args.n, {args.spec: 1.0}, seed=args.seed)  # uint8 (N, 3, 48, 160)
    readers = [lprzoo.load(r) for r in args.readers]
    real = real_crops(args.real) if args.real else None
    if real is not None:
        features = PooledBackbone((lprzoo.load(args.fd_reader) if args.fd_reader else readers[0]).net).eval()

    sources = {"renders": renders}
    for path in args.generators:
        t0 = time.perf_counter()
        sources[str(path)] = refine(load_generator(path), renders)  # uint8 (N, 3, 48, 160)
        print(f"translated {args.n} with {path} in {time.perf_counter() - t0:.1f} s")

    header = " | ".join(f"{name} RA / CRA-C / CRA-NC" for name in args.readers)
    fd_header = f" FD to {len(real)} real crops |" if real is not None else ""
    print(f"\n{args.n} {args.spec} renders, seed {args.seed}; readers (columns): greedy, %\n")
    print(f"| images | {header} |{fd_header} {args.spec} kept |")
    print(f"|---|{'---|' * (len(readers) + (real is not None) + 1)}")
    for name, images in sources.items():
        cells = [evaluate(r, images, texts, top_n=(3,), breakdown=False) for r in readers]
        row = " | ".join(f"{100 * c['RA']:.1f} / {100 * c['CRA-C']:.1f} / {100 * c['CRA-NC']:.1f}" for c in cells)
        fd = f" {frechet_distance(features, real, images):.2f} |" if real is not None else ""
        kept = np.mean([plate_colour(image) == args.spec for image in images])
        print(f"| {name} | {row} |{fd} {100 * kept:.1f} % |")


if __name__ == "__main__":
    main()
