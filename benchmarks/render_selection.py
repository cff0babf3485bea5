"""Per-kind RA of readers on the selection renders: 200 plates of every spec drawn at other seeds than render-types
(1000 + k for the k-th spec), the set on which the every-plate stages and their averages were compared, so that
render-types and target/dev stay out of every choice (docs/plates.md).

    python benchmarks/render_selection.py runs/every_plate_soup/calibrated.safetensors lightcrnn-1.2-every-plate
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import lprzoo
from lprzoo.evaluate import render_types
from lprzoo.render.specs import SPECS

PER_SPEC, SEED = 200, 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="zoo names or weights files")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| model | mean | min | " + " | ".join(SPECS) + " |")
    print("|---" * (len(SPECS) + 3) + "|")
    for model in args.models:
        reader = lprzoo.load(model)
        images, labels, specs = render_types(reader.record.input, PER_SPEC, SEED)
        right = np.array([r.text == y for r, y in zip(reader(list(images)), labels)])
        ra = [100 * right[[s == spec for s in specs]].mean() for spec in SPECS]
        print(f"| {model} | {np.mean(ra):.2f} | {min(ra):.1f} | " + " | ".join(f"{v:.1f}" for v in ra) + " |")


if __name__ == "__main__":
    main()
