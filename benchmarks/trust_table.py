"""Trust figures of zoo readers on the named labelled sets: RA of the reading (beam top-1), ECE, mean confidence,
coverage at 99 % / 99.5 % precision, and at the record's own operating point; pictures into ``--pictures``.

    python benchmarks/trust_table.py lightcrnn-1.2-blend-cjk lightcrnn-1.2-adapt-auto lightcrnn-1.2-adapt-cjk \
        --pictures docs/img/confidence

``--views`` adds the agreement of the reading with its reading under small shifts, scalings and rotations of the
plate (a label-free signal of doubt), combined with the confidence by a logistic fit on real/val (2-fold cross-fitted
for real/val's own figures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import lprzoo
from lprzoo.calibration import VIEWS, confidence_figures
from lprzoo.evaluate import evaluate, load_named


def view_agreement(reader, images: torch.Tensor, texts: list[str]) -> np.ndarray:
    """Share of the reader's views (:data:`lprzoo.calibration.VIEWS`) whose beam top-1 equals ``texts``."""
    reader.views = len(VIEWS)
    try:
        return np.concatenate([reader.agreement(images[i : i + 256], texts[i : i + 256])
                               for i in range(0, len(texts), 256)])  # fmt: skip
    finally:
        reader.views = 0


def logistic_fit(features: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Weights of P(right) = sigmoid(features @ w), by L-BFGS on the log-loss."""
    x, y = torch.tensor(features, dtype=torch.float64), torch.tensor(correct, dtype=torch.float64)
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([w], max_iter=200)

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y)
        loss.backward()
        return loss

    optimiser.step(closure)
    return w.detach().numpy()


def features(confidence: np.ndarray, agreement: np.ndarray) -> np.ndarray:
    p = np.clip(confidence, 1e-6, 1 - 1e-6)
    return np.stack([np.log(p / (1 - p)), agreement, np.ones_like(p)], 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--sets", default="real/val,target/dev")
    parser.add_argument("--pictures", type=Path)
    parser.add_argument("--views", action="store_true")
    args = parser.parse_args()
    print("| model | set | RA | ECE | mean confidence | coverage@99 | coverage@99.5 | at the record's threshold |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models:
        reader = lprzoo.load(model)
        per_set = {}
        for name in args.sets.split(","):
            images, labels = load_named(name, reader.record)
            title = f"{model.removeprefix('lightcrnn-1.2-')} {name}"
            figures = evaluate(reader, images, labels, breakdown=False, pictures=args.pictures, title=title)
            readings = reader(list(images))
            conf = np.array([r.confidence for r in readings])
            ok = np.array([r.text == label for r, label in zip(readings, labels)])
            at = "–"
            if reader.threshold is not None:
                accepted = conf >= reader.threshold
                at = f"{100 * accepted.mean():.1f} % / {100 * ok[accepted].mean():.1f} %"
            print(f"| {model} | {name} | {100 * ok.mean():.1f} | {100 * figures['ECE']:.1f} | "
                  f"{100 * figures['mean_confidence']:.1f} | {100 * figures['coverage@99']:.1f} | "
                  f"{100 * figures['coverage@99.5']:.1f} | {at} |", flush=True)  # fmt: skip
            if args.views:
                per_set[name] = (conf, ok, view_agreement(reader, images, [r.text for r in readings]))
        if args.views:
            conf, ok, agree = per_set["real/val"]
            w = logistic_fit(features(conf, agree), ok)
            order = np.random.default_rng(0).permutation(len(ok))
            crossfit = np.empty(len(ok))
            halves = (order[: len(ok) // 2], order[len(ok) // 2 :])
            for fit, held in (halves, halves[::-1]):
                wf = logistic_fit(features(conf[fit], agree[fit]), ok[fit])
                crossfit[held] = 1 / (1 + np.exp(-features(conf[held], agree[held]) @ wf))
            for name, (c, o, a) in per_set.items():
                combined = crossfit if name == "real/val" else 1 / (1 + np.exp(-features(c, a) @ w))
                f = confidence_figures(combined, o)
                print(f"| {model} + {len(VIEWS)} views | {name} | {100 * o.mean():.1f} | {100 * f['ECE']:.1f} | "
                      f"{100 * f['mean_confidence']:.1f} | {100 * f['coverage@99']:.1f} | "
                      f"{100 * f['coverage@99.5']:.1f} | – |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
