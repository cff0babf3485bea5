"""``lprzoo explain``: why a reader read what it read, as pictures (paper §IV-E, Fig. 2 and Fig. 11).

For each image: the plate as the recognizer saw it, above its confidence map (every class's probability at every
time step, green low to white high; rows top to bottom digits, letters, Chinese characters, blank), and under it the
top-N readings with their calibrated probabilities and whether the reading is accepted at the reader's operating
point.  ``index.md`` lists the readings and links the pictures.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

from lprzoo.errors import LprzooError

log = logging.getLogger(__name__)


def _images(pattern: str) -> list[Path]:
    """An image, a folder of images, or a glob pattern -> image paths."""
    from lprzoo.folders import is_image_file, list_images

    path = Path(pattern).expanduser()
    if path.is_dir() or path.is_file():
        found = list_images(path)
    else:
        found = sorted(Path(p) for p in glob.glob(str(path)) if is_image_file(Path(p)))
    if not found:
        raise LprzooError(f"explain: {pattern}: no image (give an image, a folder of images or a glob pattern)")
    return found


def explain(
    images: str,
    model: str = "lightcrnn-1.2-every-plate",
    out: str = "runs/explain",
    top_n: int = 5,
    min_precision: float | None = None,
) -> Path:
    """Draw the confidence map and the top-N readings of each image.

    Args:
        images: an image, a folder of images, or a glob pattern (quoted: ``"photos/*.jpg"``).
        model: a zoo name or a weights file (``.safetensors`` / ``.ckpt`` / ``.onnx``).
        out: the folder for ``<image>.png`` pictures and ``index.md``.
        top_n: readings listed per image.
        min_precision: the operating point of ``accepted`` (default: the record's calibrated threshold, if any).
    """
    from PIL import Image, ImageDraw

    import lprzoo
    from lprzoo.reader import plate_tensor
    from lprzoo.viz import confidence_map, label_font

    paths = _images(images)
    reader = lprzoo.load(model, top_n=top_n, min_precision=min_precision)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["| image | reading | confidence | accepted | picture |", "|---|---|---|---|---|"]
    font = label_font(14)
    for path in paths:
        plate, _ = plate_tensor(path, reader.record.input.height, reader.record.input.width)  # (3, H, W) uint8
        log_probs = reader.log_probs(plate[None])  # (1, T, K), calibrated: what the map shows
        reading = reader(plate)
        picture = confidence_map(log_probs[0], reader.charset, plate, cell=6)
        lines = [f"{i + 1}. {text}  {probability:.3f}" for i, (text, probability) in enumerate(reading.topn)]
        verdict = {True: "accepted", False: "to review", None: "no operating point"}[reading.accepted]
        lines.append(f"confidence {reading.confidence:.3f} ({verdict})")
        strip = 18 * len(lines) + 6
        canvas = Image.new("RGB", (picture.width, picture.height + strip), (255, 255, 255))
        canvas.paste(picture, (0, 0))
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(lines):
            colour = (0, 110, 0) if i == 0 and reading.accepted is not False else (0, 0, 0)
            draw.text((4, picture.height + 3 + 18 * i), line, fill=colour, font=font)
        target = folder / f"{path.stem}.png"
        canvas.save(target)
        rows.append(
            f"| {path.name} | {reading.text} | {reading.confidence:.3f} | {verdict} | ![{path.stem}]({target.name}) |"
        )
    index = folder / "index.md"
    index.write_text(f"# Readings of {model}\n\n" + "\n".join(rows) + "\n", encoding="utf-8")
    log.info("explain: %d pictures and %s", len(paths), index)
    return index
