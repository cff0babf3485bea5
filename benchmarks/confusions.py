"""Which characters a recognizer confuses on labelled plates: the evidence behind renderer changes.

    lprzoo predict --ckpt_path runs/script_only/checkpoints/last.ckpt --data.predict ../shared/data/real/val \
        --predict_writer.output preds.jsonl
    python benchmarks/confusions.py preds.jsonl [--top 25]

Labels come from the file names (``NNNNN_<label>.jpg``). Predictions of the label's length are compared position
by position (province, letter, then the five-character tail); the others are counted by length difference.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from lprzoo.folders import label_from_filename


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("predictions", type=Path, help="JSONL written by `lprzoo predict`")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.predictions.read_text(encoding="utf-8").splitlines() if line]
    confusions, length_diffs, right = Counter(), Counter(), 0
    for row in rows:
        truth, pred = label_from_filename(Path(row["file"]).name), row["text"]
        right += pred == truth
        length_diffs[len(pred) - len(truth)] += 1
        if len(pred) == len(truth):
            for i, (t, p) in enumerate(zip(truth, pred)):
                if t != p:
                    confusions[("province" if i == 0 else "letter" if i == 1 else "tail", t, p)] += 1
    print(f"{len(rows)} plates, {right} read right ({right / max(1, len(rows)):.1%})")
    print("length difference (predicted - true):", dict(sorted(length_diffs.items())))
    print("| position | true | read as | count |\n|---|---|---|---|")
    for (where, t, p), n in confusions.most_common(args.top):
        print(f"| {where} | {t} | {p} | {n} |")


if __name__ == "__main__":
    main()
