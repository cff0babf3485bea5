"""docs/plates.md's picture: every kind of plate, rendered as a camera sees it and, where ``../shared`` has one, real,
with what a reader reads (text, kind, confidence; green where the text is right).

    python benchmarks/plate_kinds_grid.py --model lightcrnn-1.2-every-plate --out docs/img/plates.png

Rendered plates are photos of the plate's own shape (a double-row plate about 2:1, the reader splits it), drawn at
the render-types seed but an epoch of their own; the real ones are the first crops of each colour in real/val
(blue), target/dev (yellow, by docs' side file) and the CCPD sample (green new-energy plates, rectified by their
corners).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import lprzoo
from lprzoo.charset import SPECIAL, Charset
from lprzoo.data.images import load_plate
from lprzoo.data.sources import read_source
from lprzoo.evaluate import NAMED_SETS, SHARED, kind_labels
from lprzoo.render.dataset import item_rng
from lprzoo.render.fonts import DEFAULT_CJK_FONT, get_font
from lprzoo.render.renderer import PlateRenderer
from lprzoo.render.specs import SPECS

PER_ROW = 4  # plates per kind


def rendered(spec: str, n: int) -> list[tuple[np.ndarray, str]]:
    """``n`` photos of ``spec``: the whole plate in a crop of its own shape (no layout: the reader applies it)."""
    w_mm, h_mm = SPECS.get(spec).size_mm
    height = 64
    renderer = PlateRenderer(spec, height=height, width=round(height * w_mm / h_mm * 1.05), layout="single")
    return [renderer.sample(item_rng(36, i, epoch=7)) for i in range(n)]


def real(n: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    """Up to ``n`` real crops per colour that ``../shared`` holds."""
    out: dict[str, list[tuple[np.ndarray, str]]] = {}
    charset = Charset(SPECIAL)
    for name, colour in (("real/val", "blue"), ("target/dev", "yellow")):
        folder = NAMED_SETS[name]
        if not folder.is_dir():
            continue
        kinds = kind_labels(name) or {}
        picked = [s for s in read_source(folder, charset) if str(kinds.get(Path(s.path).name, "")) == colour][:n]
        out[f"{colour} (real, {name})"] = [(np.asarray(Image.open(s.path).convert("RGB")), s.label) for s in picked]
    ccpd = SHARED / "ccpd_sample"
    if ccpd.is_dir():
        green = [s for s in read_source(ccpd, charset) if len(s.label) == 8][:n]
        out["green (real, CCPD)"] = [(load_plate(s, 64, 220).permute(1, 2, 0).numpy(), s.label) for s in green]
    return out


def layout_figure(target: str, n: int = 3) -> None:
    """Photos of double-row plates (left, levelled as the default layout levels them) and what the recognizer reads
    from them (right): rows side by side."""
    from lprzoo.layout import levelled, row_boundary, to_input

    font = ImageFont.truetype(str(get_font(DEFAULT_CJK_FONT).locate()[0]), 14)
    photos = [image for spec in ("yellow-double", "yellow-trailer") for image, _ in rendered(spec, n)][: 2 * n]
    w_in, h_in = 160 * 2, 48 * 2
    sheet = Image.new("RGB", (170 + w_in + 30, len(photos) * (h_in + 12) + 30), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 4), "levelled photo, gap red", fill=(0, 0, 0), font=font)
    draw.text((190, 4), "the recognizer's input (48 x 160, shown x2)", fill=(0, 0, 0), font=font)
    for k, photo in enumerate(photos):
        y = 26 + k * (h_in + 12)
        level = levelled(photo)
        thumb = Image.fromarray(level)
        scale = 160 / thumb.width
        thumb = thumb.resize((160, round(thumb.height * scale)))
        sheet.paste(thumb, (4, y))
        b = round(row_boundary(level) * scale)
        draw.line((4, y + b, 164, y + b), fill=(220, 0, 0), width=2)
        side = Image.fromarray(to_input(photo, 48, 160, "double")).resize((w_in, h_in), Image.NEAREST)
        sheet.paste(side, (190, y))
    sheet.save(target, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="lightcrnn-1.2-every-plate")
    parser.add_argument("--out", default="docs/img/plates.png")
    parser.add_argument("--layout_out", default="docs/img/double-row-layout.png")
    args = parser.parse_args()
    layout_figure(args.layout_out)

    reader = lprzoo.load(args.model)
    rows = {f"{spec} (rendered)": rendered(spec, PER_ROW) for spec in SPECS}
    rows.update(real(PER_ROW))
    font = ImageFont.truetype(str(get_font(DEFAULT_CJK_FONT).locate()[0]), 14)
    cell_w, cell_h, label_w = 200, 64 + 40, 190
    sheet = Image.new("RGB", (label_w + PER_ROW * cell_w, len(rows) * cell_h + 8), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    right = total = 0
    for r, (title, plates) in enumerate(rows.items()):
        y = 4 + r * cell_h
        draw.text((6, y + 24), title, fill=(0, 0, 0), font=font)
        for c, (image, label) in enumerate(plates):
            reading = reader(image)
            x = label_w + c * cell_w
            thumb = Image.fromarray(image)
            thumb.thumbnail((cell_w - 8, 64))
            sheet.paste(thumb, (x, y))
            ok = reading.text == label
            right, total = right + ok, total + 1
            colour = (0, 130, 0) if ok else (200, 0, 0)
            draw.text((x, y + 66), f"{reading.text}  {reading.confidence:.2f}", fill=colour, font=font)
            kind = f"{reading.kind} ({reading.kind_confidence:.2f})" if reading.kind else "no kind head"
            draw.text(
                (x, y + 84), f"{kind}{', split' if reading.rows == 'double' else ''}", fill=(60, 60, 60), font=font
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(128, method=Image.Quantize.MEDIANCUT).save(args.out, optimize=True)
    print(f"{args.out}: {right}/{total} read right by {args.model}")


if __name__ == "__main__":
    main()
