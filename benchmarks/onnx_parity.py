"""ONNX parity of a reader: how many readings fp32 / int8 ONNX share with torch, how far their calibrated
confidences move, and each runtime's RA, on the named labelled sets.

    python benchmarks/onnx_parity.py --model lightcrnn-1.2-adapt-auto --sets real/val
"""

from __future__ import annotations

import argparse

import numpy as np

import lprzoo
from lprzoo.evaluate import load_named

RUNTIMES = ("torch", "onnx", "onnx-int8-lstm-fp32", "onnx-int8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lightcrnn-1.2-adapt-auto")
    parser.add_argument("--sets", nargs="+", default=["real/val", "target/dev"])
    args = parser.parse_args()
    readers = {runtime: lprzoo.load(args.model, runtime=runtime) for runtime in RUNTIMES}
    print("| set | runtime | same readings as torch | confidence max abs diff | median | within 1e-3 | RA |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets:
        images, labels = load_named(name, readers["torch"].record)
        readings = {runtime: reader(list(images)) for runtime, reader in readers.items()}
        for runtime in RUNTIMES:
            same = sum(a.text == b.text for a, b in zip(readings["torch"], readings[runtime]))
            delta = np.array([abs(a.confidence - b.confidence) for a, b in zip(readings["torch"], readings[runtime])])
            ra = np.mean([r.text == label for r, label in zip(readings[runtime], labels)])
            print(f"| {name} | {runtime} | {same}/{len(labels)} | {delta.max():.1e} | {np.median(delta):.1e} | "
                  f"{100 * np.mean(delta < 1e-3):.1f} % | {100 * ra:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
