"""An EXIF-rotated copy of a labelled folder reads as the original: every crop stored turned by 90°, 270° or 180°
with the orientation tag that tells a viewer to turn it back (as phones store photos), JPEG quality 100.

    python benchmarks/exif_parity.py --model lightcrnn-1.2-adapt-auto --data ../shared/data/real/val
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image

import lprzoo
from lprzoo.folders import label_from_filename

TURNS = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lightcrnn-1.2-adapt-auto")
    parser.add_argument("--data", default="../shared/data/real/val")
    args = parser.parse_args()
    originals = sorted(Path(args.data).glob("*.jpg"))
    folder = Path(tempfile.mkdtemp())
    rotated = []
    for i, path in enumerate(originals):
        orientation = list(TURNS)[i % 3]
        exif = Image.Exif()
        exif[0x0112] = orientation
        with Image.open(path) as image:
            image.transpose(TURNS[orientation]).save(folder / path.name, quality=100, exif=exif)
        rotated.append(folder / path.name)
    reader = lprzoo.load(args.model)
    plain, turned = reader(originals), reader(rotated)
    labels = [label_from_filename(p) for p in originals]
    same = sum(a.text == b.text for a, b in zip(plain, turned))
    ra = [sum(r.text == label for r, label in zip(readings, labels)) / len(labels) for readings in (plain, turned)]
    print(
        f"{same}/{len(originals)} identical readings; RA original {100 * ra[0]:.2f} %, EXIF-rotated {100 * ra[1]:.2f} %"
    )


if __name__ == "__main__":
    main()
