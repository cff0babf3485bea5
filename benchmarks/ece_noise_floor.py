"""How large an ECE a perfectly calibrated reader would show on a set of this size: each plate's reading is drawn
right with probability equal to the reader's confidence on it, and the ECE (10 bins) of that draw is taken, many
times.  On a small set, ECE measures the draw as much as the calibration.

    python benchmarks/ece_noise_floor.py --model lightcrnn-1.2-every-plate --sets target/dev real/val
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import lprzoo
from lprzoo.calibration import expected_calibration_error
from lprzoo.evaluate import evaluate, load_named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lightcrnn-1.2-every-plate")
    parser.add_argument("--sets", nargs="+", default=["target/dev", "real/val"])
    parser.add_argument("--draws", type=int, default=4000)
    args = parser.parse_args()
    torch.set_num_threads(2)
    reader = lprzoo.load(args.model)
    rng = np.random.default_rng(0)
    print("| set | plates | measured ECE | calibrated reader: mean ECE | median | P(ECE > 2 %) | P(ECE >= measured) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets:
        images, labels = load_named(name, reader.record)[:2]
        confidence = np.array([r.confidence for r in reader(images)])
        measured = evaluate(reader, images, labels, breakdown=False)["ECE"]
        draws = np.array([expected_calibration_error(confidence, rng.random(len(confidence)) < confidence)
                          for _ in range(args.draws)])  # fmt: skip
        print(
            f"| {name} | {len(labels)} | {100 * measured:.2f} % | {100 * draws.mean():.2f} % | "
            f"{100 * np.median(draws):.2f} % | {np.mean(draws > 0.02):.2f} | {np.mean(draws >= measured):.2f} |"
        )


if __name__ == "__main__":
    main()
