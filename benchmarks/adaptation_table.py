"""The adaptation ablation table (docs/adaptation.md): one row per model, on real/val and target/dev.

    python benchmarks/adaptation_table.py "real only=runs/real_baseline/checkpoints/last.ckpt" \
        "render pretrain + fine-tune=runs/adapt/ft_norehearsal/checkpoints/last.ckpt" ... [--provinces NAME]

Columns: RA, CRA-C, CRA-NC and top-3 on both sets, RA per plate colour (by hue) on target/dev, and RA and CRA-C on
the zoo's ``render-31`` set (1,000 renders, all 31 provinces, :mod:`lprzoo.evaluate`); greedy RA as ``lprzoo test``
reports it, in fp32.  ``--provinces`` adds a per-province table for one row's model.
"""

from __future__ import annotations

import argparse

import lprzoo
from lprzoo.evaluate import evaluate, load_named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="+", help="'label=checkpoint or zoo name'")
    parser.add_argument("--provinces", help="the label of the row whose per-province accuracy is printed")
    parser.add_argument("--grid", help="a PNG of the first 32 target/dev crops with each row's readings (last row)")
    args = parser.parse_args()
    print("| model | val RA | val CRA-C | val CRA-NC | val top-3 | dev RA | dev CRA-C | dev CRA-NC | dev top-3 "
          "| dev blue RA | dev yellow RA | render-31 RA | render-31 CRA-C |")  # fmt: skip
    print("|---|" + "---|" * 12)
    per_province = {}
    for row in args.rows:
        label, source = row.split("=", 1)
        reader = lprzoo.load(source)
        cells = []
        for name in ("real/val", "target/dev"):
            images, labels = load_named(name, reader.record)
            m = evaluate(reader, images, labels)
            cells += [f"{100 * m[k]:.1f}" for k in ("RA", "CRA-C", "CRA-NC", "top3")]
            if name == "target/dev":
                for colour in ("blue", "yellow"):
                    ok, n = m["by_colour"].get(colour, [0, 0])
                    cells.append(f"{100 * ok / max(n, 1):.1f} ({ok}/{n})")
            if label == args.provinces:
                per_province[name] = m["by_province"]
            if name == "target/dev" and args.grid:
                from lprzoo.viz import prediction_grid

                prediction_grid(images[:32], m["predictions"][:32], labels[:32], columns=4).save(args.grid)
        images, labels = load_named("render-31", reader.record)
        rendered = evaluate(reader, images, labels, breakdown=False)
        cells += [f"{100 * rendered['RA']:.1f}", f"{100 * rendered['CRA-C']:.1f}"]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    for name, table in per_province.items():
        print(
            f"\nPer province on {name} ({args.provinces}): "
            + ", ".join(f"{p} {ok}/{n}" for p, (ok, n) in sorted(table.items(), key=lambda kv: -kv[1][1]))
        )


if __name__ == "__main__":
    main()
