"""Top-N of a reader's beam on the named labelled sets: RA of its top reading, top-3 and top-5, for the
unconstrained beam and the grammar-constrained one at several widths and prunings; the misread plates' alternatives
are printed for the last setting.

    python benchmarks/topn_alternatives.py lightcrnn-1.2-adapt-auto,lightcrnn-1.2-adapt-cjk
"""

from __future__ import annotations

import sys

import lprzoo
from lprzoo.decode import plate_grammar, prefix_beam_search
from lprzoo.evaluate import load_named

SETTINGS = [
    ("free b10", {"beam_width": 10}),
    ("grammar b10", {"beam_width": 10, "grammar": True}),
    ("grammar b20 p1e-5 c16", {"beam_width": 20, "grammar": True, "prune": 1e-5, "max_candidates": 16}),
    ("grammar b30 p1e-7 c30", {"beam_width": 30, "grammar": True, "prune": 1e-7, "max_candidates": 30}),
]


def main() -> None:
    grammar = plate_grammar()
    for model in sys.argv[1].split(","):
        reader = lprzoo.load(model)
        for name in ("target/dev", "real/val"):
            images, labels = load_named(name, reader.record)
            log_probs = reader.log_probs(images)
            for setting, kwargs in SETTINGS:
                kwargs = {**kwargs, "grammar": grammar if kwargs.get("grammar") else None}
                predictions = prefix_beam_search(log_probs, reader.charset, top_n=5, **kwargs)
                hits = [[label in [t for t, _ in p.topn[:n]] for p, label in zip(predictions, labels)] for n in (3, 5)]
                ra = sum(p.text == label for p, label in zip(predictions, labels)) / len(labels)
                print(f"{model} {name} {setting}: RA {100 * ra:.1f} top3 {100 * sum(hits[0]) / len(labels):.1f} "
                      f"top5 {100 * sum(hits[1]) / len(labels):.1f}", flush=True)  # fmt: skip
            for p, label in zip(predictions, labels):
                if p.text != label:
                    print("   ", label, [(t, round(q, 4)) for t, q in p.topn[:5]])


if __name__ == "__main__":
    main()
