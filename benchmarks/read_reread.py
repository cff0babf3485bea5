"""Read real/val with the every-plate reader as it ships (its doubtful plates read again under six small moves) or
read once (``once``: ``reread_below=0``): the two commands ``farm-bench`` times side by side for docs/confidence.md.

    farm-bench -n 5 --timeout 600 --vs 'python benchmarks/read_reread.py once' -- python benchmarks/read_reread.py
"""

from __future__ import annotations

import sys

import torch

import lprzoo
from lprzoo.evaluate import load_named


def main() -> None:
    torch.set_num_threads(1)
    once = {"reread_below": 0.0} if sys.argv[1:] == ["once"] else {}
    reader = lprzoo.load("lightcrnn-1.2-every-plate", **once)
    images, labels = load_named("real/val", reader.record)[:2]
    right = sum(r.text == label for r, label in zip(reader(images), labels))
    print(f"{right}/{len(labels)} read right")


if __name__ == "__main__":
    main()
