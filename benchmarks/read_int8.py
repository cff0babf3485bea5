"""Read real/val with a zoo reader's int8 runtime, its doubtful plates confirmed in fp32 (the default) or the int8
network alone (``alone``): the two commands ``farm-bench`` times side by side for docs/confidence.md.

    farm-bench -n 5 --vs 'python benchmarks/read_int8.py alone' -- python benchmarks/read_int8.py
"""

from __future__ import annotations

import sys

import torch

import lprzoo
from lprzoo.evaluate import load_named


def main() -> None:
    torch.set_num_threads(1)
    alone = sys.argv[1:] == ["alone"]
    reader = lprzoo.load("lightcrnn-1.2-every-plate", runtime="onnx-int8", threads=1,
                         **({"confirm_below": 0.0} if alone else {}))  # fmt: skip
    images, _ = load_named("real/val", reader.record)
    reader(list(images))


if __name__ == "__main__":
    main()
