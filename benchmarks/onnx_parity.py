"""ONNX parity of a reader: how many readings and accept decisions fp32 / int8 ONNX share with torch, how far their
calibrated confidences move, each runtime's RA and its end-to-end speed (decoding included), on the named sets.

``onnx-int8`` reads its doubtful plates (confidence below ``lprzoo.reader.CONFIRM_BELOW``) again in fp32, as
``lprzoo.load`` does by default; ``onnx-int8, alone`` is the int8 network by itself (``confirm_below=0``).

    python benchmarks/onnx_parity.py --model lightcrnn-1.2-every-plate --sets real/val target/dev render-types
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import lprzoo
from lprzoo.evaluate import load_named

READERS = {  # row name -> lprzoo.load arguments
    "torch": {},
    "onnx": {"runtime": "onnx"},
    "onnx-int8-lstm-fp32": {"runtime": "onnx-int8-lstm-fp32"},
    "onnx-int8": {"runtime": "onnx-int8"},
    "onnx-int8, alone": {"runtime": "onnx-int8", "confirm_below": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lightcrnn-1.2-every-plate")
    parser.add_argument("--sets", nargs="+", default=["real/val", "target/dev"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    readers = {name: lprzoo.load(args.model, **kwargs, **({"threads": args.threads} if kwargs else {}))
               for name, kwargs in READERS.items()}  # fmt: skip
    print("| set | runtime | same readings as torch | same accept decisions | confidence max abs diff | median | "
          "within 1e-3 | RA | plates/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.sets:
        images, labels = load_named(name, readers["torch"].record)
        readings, speed = {}, {}
        for runtime, reader in readers.items():
            reader(list(images[:64]))  # warm-up
            start = time.perf_counter()
            readings[runtime] = reader(list(images))
            speed[runtime] = len(images) / (time.perf_counter() - start)
        ours = readings["torch"]
        for runtime in readers:
            same = sum(a.text == b.text for a, b in zip(ours, readings[runtime]))
            decided = sum(a.accepted == b.accepted for a, b in zip(ours, readings[runtime]))
            delta = np.array([abs(a.confidence - b.confidence) for a, b in zip(ours, readings[runtime])])
            ra = np.mean([r.text == label for r, label in zip(readings[runtime], labels)])
            print(f"| {name} | {runtime} | {same}/{len(labels)} | {decided}/{len(labels)} | {delta.max():.1e} | "
                  f"{np.median(delta):.1e} | {100 * np.mean(delta < 1e-3):.1f} % | {100 * ra:.1f} | "
                  f"{speed[runtime]:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
