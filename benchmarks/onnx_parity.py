"""ONNX parity of a recognizer (issue export-bench): max |Δ logit| of fp32 ONNX vs torch, and how many greedy
readings fp32 / int8 ONNX share with torch, on real/val and target/dev.

    python benchmarks/onnx_parity.py --model lightcrnn-1.2-adapt
"""

from __future__ import annotations

import argparse

import torch

import lprzoo
from lprzoo.decode import greedy_decode
from lprzoo.evaluate import load_named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lightcrnn-1.2-adapt")
    parser.add_argument("--sets", nargs="+", default=["real/val", "target/dev"])
    args = parser.parse_args()
    torch_reader = lprzoo.load(args.model)
    onnx = {rt: lprzoo.load(args.model, runtime=rt) for rt in ("onnx", "onnx-int8", "onnx-int8-lstm8")}
    for name in args.sets:
        images, _ = load_named(name, torch_reader.charset)
        with torch.inference_mode():
            x = images.float() / 255  # (N, 3, 48, 160) in [0, 1]
            delta = (torch_reader.net(x) - onnx["onnx"].net(x)).abs().max().item()
        reference = [p.text for p in greedy_decode(torch_reader.log_probs(images), torch_reader.charset)]
        same = {
            rt: sum(a == p.text for a, p in zip(reference, greedy_decode(r.log_probs(images), r.charset)))
            for rt, r in onnx.items()
        }
        print(f"{name}: fp32 ONNX max |Δ logit| {delta:.2e}; greedy readings equal to torch: "
              + ", ".join(f"{rt} {n}/{len(reference)}" for rt, n in same.items()))  # fmt: skip


if __name__ == "__main__":
    main()
