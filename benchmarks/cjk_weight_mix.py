"""Draw docs/img/cjk_weight_mix.jpg: the same plates with the province glyph in each weight of ``CJK_WEIGHT_MIX``.

    python benchmarks/cjk_weight_mix.py [--out docs/img/cjk_weight_mix.jpg]

Each row is one label drawn with the same geometry and photometric degradations; only the CJK font changes from
column to column (letters and digits stay in Barlow Condensed SemiBold). See docs/renderer.md, "Fonts".
"""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image, ImageDraw

from lprzoo.render import PlateRenderer
from lprzoo.render.fonts import CJK_WEIGHT_MIX, DEFAULT_LATIN_FONT
from lprzoo.viz import label_font

PLATES = {"blue": ["苏A12345", "皖K8G361"], "yellow": ["浙B7H520", "豫A30D81"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img/cjk_weight_mix.jpg")
    args = parser.parse_args()
    import cv2

    w, h, pad, left = 160, 48, 4, 136
    rows = sum(len(t) for t in PLATES.values())
    canvas = Image.new("RGB", (left + len(CJK_WEIGHT_MIX) * (w + pad), 22 + rows * (h + pad)), "white")
    draw, font = ImageDraw.Draw(canvas), label_font(13)
    for c, name in enumerate(CJK_WEIGHT_MIX):
        draw.text((left + c * (w + pad), 4), name.replace("noto-sans-cjk-", "Noto Sans CJK "), fill="black", font=font)
    r = 0
    for spec, texts in PLATES.items():
        renderer = PlateRenderer(spec, latin_fonts=DEFAULT_LATIN_FONT, cjk_fonts=CJK_WEIGHT_MIX)
        for text in texts:
            y = 22 + r * (h + pad)
            draw.text((4, y + 16), f"{spec} {text}", fill="black", font=font)
            m = renderer.degradations.homography(renderer.plate_w, renderer.plate_h, w, h, np.random.default_rng(r))
            for c in range(len(CJK_WEIGHT_MIX)):
                plate = cv2.warpPerspective(renderer.compose(text, 0, c), m, (w, h), flags=cv2.INTER_LINEAR)
                image = renderer.degradations.photometric(plate, np.random.default_rng(11 + r))
                canvas.paste(Image.fromarray(image), (left + c * (w + pad), y))
            r += 1
    canvas.save(args.out, quality=92)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
