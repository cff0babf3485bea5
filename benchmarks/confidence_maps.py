"""Confidence maps (paper Fig. 2 and Fig. 11) of trained recognizers: what each model "knows".

    python benchmarks/confidence_maps.py runs/real_baseline/checkpoints/last.ckpt --out docs/img/confidence_real.png

Averages the softmax output over 5,000 random-noise images (§IV-E) into one class × time-step map, and draws the
map of one real plate under it when ``--plate`` is given. Rows, top to bottom: digits, letters, Chinese
characters, blank; green (low) to white (high), as in the paper.
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image

import lprzoo
from lprzoo.data.images import load_plate
from lprzoo.data.sources import Sample
from lprzoo.folders import label_from_filename
from lprzoo.viz import confidence_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ckpt")
    parser.add_argument("--out", required=True)
    parser.add_argument("--plate", help="a plate image to draw with its own map")
    parser.add_argument("--n", type=int, default=5000, help="random images to average")
    args = parser.parse_args()
    module = lprzoo.CRNNModule.load_from_checkpoint(args.ckpt, map_location="cpu").eval()
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        noise = torch.cat([module(torch.rand(500, 3, 48, 160, generator=generator)) for _ in range(args.n // 500)])
        maps = [confidence_map(noise, module.charset)]
        if args.plate:
            image = load_plate(Sample(args.plate, label_from_filename(args.plate))).float() / 255
            maps.append(confidence_map(module(image[None])[0], module.charset, image))
    width = sum(m.width for m in maps) + 8 * (len(maps) - 1)
    canvas = Image.new("RGB", (width, max(m.height for m in maps)), (255, 255, 255))
    x = 0
    for m in maps:
        canvas.paste(m, (x, 0))
        x += m.width + 8
    canvas.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
