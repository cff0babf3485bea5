"""Plate kinds (colour, rows) of a labelled photo set, for measuring the kind head: a side file and a contact sheet.

The photos carry no colour labels.  Each crop's colour is what its label decides (8 characters: green; special
characters, :func:`lprzoo.kinds.kind_of_label`), else its look (:func:`lprzoo.kinds.colour_by_hue`);
the contact sheet shows every crop under the colour it got, so anyone can check the labels by eye and correct one
with ``--fix FILE=COLOUR``.  The side file is read by ``lprzoo.evaluate.load_named(..., with_kinds=True)``; it is
for evaluation only, never training data.

    python benchmarks/kind_labels.py --data ../shared/data/real/val --name real/val \
        --fix 00107_皖AJ0J22.jpg=unknown 00050_皖A8K498.jpg=blue   # a sign, not a plate; an over-exposed blue plate
    python benchmarks/kind_labels.py --data ../shared/data/target/dev --name target/dev \
        --fix 00067_浙B7Y239.jpg=blue 00088_苏ET7986.jpg=blue       # washed-out blue plates
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from lprzoo.charset import Charset
from lprzoo.data.images import load_plate
from lprzoo.data.sources import read_source
from lprzoo.kinds import COLOURS, colour_of
from lprzoo.render.fonts import DEFAULT_CJK_FONT, get_font


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a labelled folder")
    parser.add_argument("--name", required=True, help="the set's name, e.g. real/val")
    parser.add_argument("--out", default="zoo/kinds", help="folder of the side files")
    parser.add_argument("--sheet", default="docs/img", help="folder of the contact sheets")
    parser.add_argument("--fix", nargs="*", default=[], help="FILE=COLOUR corrections made by eye on the sheet")
    args = parser.parse_args()

    fixes = dict(f.split("=", 1) for f in args.fix)
    rows, groups = [], defaultdict(list)
    for sample in read_source(args.data, Charset("警学挂港澳使领应急")):
        image = load_plate(sample).permute(1, 2, 0).numpy()  # as the loaders see it: (48, 160, 3)
        name = Path(sample.path).name
        colour = fixes.get(name) or colour_of(sample.label, image) or "unknown"
        rows.append(f"{name}\t{colour}\tsingle")  # every crop of these sets shows a single-row plate
        groups[colour].append((name, image))
    slug = args.name.replace("/", "-")
    out = Path(args.out) / f"{slug}.tsv"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# plate kinds of {args.name}: file, colour, rows (benchmarks/kind_labels.py; checked on "
              f"docs/img/kinds-{slug}.png; corrected by eye: {' '.join(args.fix) or 'none'})\n")  # fmt: skip
    out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")

    # the contact sheet: one block per colour, blue (the bulk) last
    w, h, columns = 72, 22, 20
    font = ImageFont.truetype(str(get_font(DEFAULT_CJK_FONT).locate()[0]), 14)
    order = [c for c in (*COLOURS[1:], "unknown", "blue") if groups.get(c)]
    height = sum(24 + ((len(groups[c]) + columns - 1) // columns) * (h + 2) for c in order) + 4
    sheet = Image.new("RGB", (columns * (w + 2) + 4, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = 2
    for colour in order:
        draw.text((4, y + 3), f"{colour}: {len(groups[colour])}", fill=(0, 0, 0), font=font)
        y += 24
        for k, (_, image) in enumerate(groups[colour]):
            x = 2 + (k % columns) * (w + 2)
            sheet.paste(Image.fromarray(image).resize((w, h), Image.BILINEAR), (x, y + (k // columns) * (h + 2)))
        y += ((len(groups[colour]) + columns - 1) // columns) * (h + 2)
    target = Path(args.sheet) / f"kinds-{slug}.png"
    sheet.quantize(48, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    counts = ", ".join(f"{c} {len(groups[c])}" for c in order)
    print(f"{out}: {len(rows)} crops ({counts}); contact sheet {target}")


if __name__ == "__main__":
    main()
