"""Rendered plates as image folders (paper §IV-C: a 200,000-plate SynthDataset).

Image ``i`` is drawn from ``numpy.random.SeedSequence([seed, 0, i])`` (:func:`item_rng`): it depends on nothing
else, so results are identical for any number of render processes, an interrupted :func:`render_to_folder` resumes
without duplicates or gaps, and folder image ``i`` equals ``lprzoo.render.plates.ScriptPlates(n, {spec: 1},
seed=seed)[i]`` (the on-the-fly dataset) before file encoding.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from lprzoo.folders import (
    atomic_write_bytes,
    check_manifest,
    exclusive,
    existing_images,
    image_name,
    write_labels,
)
from lprzoo.render.degrade import Degradations
from lprzoo.render.fonts import DEFAULT_CJK_FONT, get_font
from lprzoo.render.renderer import PlateRenderer, resolve_degradations
from lprzoo.render.specs import PlateSpec, get_spec
from lprzoo.workers import die_with_parent

log = logging.getLogger(__name__)


def item_rng(seed: int, index: int, epoch: int = 0) -> np.random.Generator:
    """The generator of item ``index``: a function of ``(seed, epoch, index)`` only."""
    return np.random.default_rng(np.random.SeedSequence([seed, epoch, index]))


# --- folders -----------------------------------------------------------------------------------------------------

_worker_renderer: PlateRenderer | None = None


def _init_worker(kwargs: dict[str, Any], in_a_pool: bool = False) -> None:
    global _worker_renderer
    die_with_parent()  # a killed render leaves no worker writing files; a no-op with workers=1
    if in_a_pool:  # Ctrl-C is the parent's to handle: it stops the pool at once (Pool.terminate)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    _worker_renderer = PlateRenderer(**kwargs)


def _write_image(path: Path, image: np.ndarray, fmt: str, quality: int) -> None:
    """Encode and write atomically: a hidden temporary file in the same folder, then ``os.replace``."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpg" else []
    ok, buf = cv2.imencode(f".{fmt}", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise OSError(f"could not encode {path.name}")
    atomic_write_bytes(path, buf)  # the encoded array itself: no copy to bytes


def _render_chunk_star(args: tuple) -> int:
    return _render_chunk(*args)


def _render_chunk(indices: list[int], out_dir: str, seed: int, fmt: str, quality: int) -> int:
    assert _worker_renderer is not None, "_init_worker was not called"
    out = Path(out_dir)
    for i in indices:
        image, text = _worker_renderer.sample(item_rng(seed, i))
        _write_image(out / image_name(i, text, fmt), image, fmt, quality)
    return len(indices)


def _manifest(spec: str | PlateSpec, seed: int, kwargs: dict[str, Any], fmt: str) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v

    spec_obj = get_spec(spec)
    return json.loads(
        json.dumps(
            {
                "spec": dataclasses.asdict(spec_obj),
                "seed": seed,
                "format": fmt,
                **{k: plain(v) for k, v in kwargs.items() if k != "spec"},
            },
            ensure_ascii=False,
        )
    )


def render_to_folder(
    spec: str | PlateSpec,
    n: int,
    out_dir: str | Path,
    seed: int = 0,
    workers: int = 1,
    preview: str | Path | None = None,
    *,
    degradations: Degradations | str | None = "default",
    height: int = 48,
    width: int = 160,
    province_weights: Mapping[str, float] | None = None,
    image_format: str = "jpg",
    quality: int = 95,
    chunk_size: int = 200,
    progress: bool = True,
) -> Path:
    """Render ``n`` plates to ``out_dir`` as ``NNNNNNN_<label>.jpg`` plus ``labels.tsv`` (``filename<TAB>label``).

    Resumable: images are written atomically and image ``i`` depends only on ``(seed, i)``, so rerunning after
    an interruption renders just the missing indices. A ``render.json`` manifest guards against resuming with
    different settings.

    Args:
        spec: plate spec name or :class:`~lprzoo.render.specs.PlateSpec`.
        n: number of images.
        out_dir: target folder (created).
        seed: base seed.
        workers: render processes (1 renders in this process).
        preview: if given, a PNG path for a grid of the first 32 images with their labels.
        degradations, height, width, province_weights: passed to :class:`~lprzoo.render.renderer.PlateRenderer`.
        image_format: ``"jpg"`` or ``"png"``.
        quality: JPEG quality.
        chunk_size: images per task sent to a worker.
        progress: show a rich progress bar.

    Returns:
        The ``labels.tsv`` path.
    """
    if image_format not in ("jpg", "png"):
        raise ValueError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {
        "spec": spec,
        "degradations": resolve_degradations(degradations),
        "height": height,
        "width": width,
        "province_weights": province_weights,
    }
    busy = f"{out}: another lprzoo render is writing this folder; wait for it, or choose another --out"
    with exclusive(out / ".render.lock", busy=busy):  # two writers on one folder: the second refuses
        check_manifest(out / "render.json", _manifest(spec, seed, kwargs, image_format))
        todo = sorted(set(range(n)) - set(existing_images(out, n)))
        log.info("render_to_folder: %d of %d images to render in %s", len(todo), n, out)
        chunks = [todo[k : k + chunk_size] for k in range(0, len(todo), chunk_size)]
        from rich.progress import Progress  # imported here: only folder rendering needs it

        try:
            with Progress(disable=not progress) as bar:
                task = bar.add_task(f"rendering {get_spec(spec).name}", total=n, completed=n - len(todo))
                if workers <= 1:
                    _init_worker(kwargs)
                    for chunk in chunks:
                        bar.advance(task, _render_chunk(chunk, str(out), seed, image_format, quality))
                else:
                    # multiprocessing.Pool, not ProcessPoolExecutor: leaving its block on Ctrl-C terminates the
                    # workers at once, where an executor waits for every submitted chunk
                    args = [(c, str(out), seed, image_format, quality) for c in chunks]
                    with multiprocessing.Pool(workers, initializer=_init_worker, initargs=(kwargs, True)) as pool:
                        for count in pool.imap_unordered(_render_chunk_star, args):
                            bar.advance(task, count)
        except KeyboardInterrupt:
            so_far = len(existing_images(out, n))
            log.warning("render interrupted: %d of %d plates are in %s; run the same command to resume", so_far, n, out)
            raise
        done = existing_images(out, n)
        if sorted(done) != list(range(n)):
            raise RuntimeError(f"{out}: {n - len(done)} images missing after rendering")
        labels = write_labels(out, done)
    if todo:
        log.info("rendered %d plates (%d were already there) and wrote %s", len(todo), n - len(todo), labels)
    else:
        log.info("nothing to render: all %d plates were already in %s (%s)", n, out, labels)
    if preview is not None:
        save_preview([out / done[i] for i in range(min(32, n))], preview)
    return labels


def save_preview(paths: list[Path], target: str | Path, columns: int = 4, scale: int = 2) -> Path:
    """A grid of images with their labels (taken from ``NNN_<label>.ext`` names) underneath, saved as PNG."""
    from PIL import ImageFont

    images = [Image.open(p).convert("RGB") for p in paths]
    if not images:
        raise ValueError("no images to preview")
    w, h = images[0].width * scale, images[0].height * scale
    rows = (len(images) + columns - 1) // columns
    canvas = Image.new("RGB", (columns * (w + 6) + 6, rows * (h + 24) + 6), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(get_font(DEFAULT_CJK_FONT).locate()[0]), 16)
    for k, (img, p) in enumerate(zip(images, paths)):
        x, y = 6 + (k % columns) * (w + 6), 6 + (k // columns) * (h + 24)
        canvas.paste(img.resize((w, h), Image.Resampling.NEAREST), (x, y))
        draw.text((x, y + h + 1), p.stem.split("_", 1)[-1], fill=(0, 0, 0), font=font)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    canvas.save(target)
    return Path(target)


def compare_with_real(
    real_dir: str | Path,
    target: str | Path,
    spec: str | PlateSpec = "blue",
    n: int = 8,
    seed: int = 0,
    degradations: Degradations | str | None = "default",
    scale: float = 1.5,
) -> Path:
    """A side-by-side PNG: ``n`` rendered plates (left) beside ``n`` random real crops from ``real_dir`` (right).

    Provinces are drawn with weights estimated from ``real_dir``'s labels, so both sides look alike in content;
    the figure is palette-quantised to stay small.
    """
    from PIL import ImageFont

    from lprzoo.folders import read_labelled
    from lprzoo.render.rules import estimate_province_weights

    samples = read_labelled(real_dir)  # the one labelled-folder reader
    if len(samples) < n:
        raise ValueError(f"{real_dir}: fewer than {n} images")
    pick = np.random.default_rng(seed).choice(len(samples), n, replace=False)
    real_paths = [image for image, _ in samples]
    weights = estimate_province_weights([label for _, label in samples])
    renderer = PlateRenderer(spec, degradations=degradations, province_weights=weights)
    rendered = [Image.fromarray(renderer.sample(item_rng(seed, i))[0]) for i in range(n)]
    real = [Image.open(real_paths[i]).convert("RGB") for i in pick]
    w, h, gap, cols = round(160 * scale), round(48 * scale), 6, 2
    rows = (n + cols - 1) // cols
    block = cols * (w + gap)
    canvas = Image.new("RGB", (2 * block + 3 * gap, rows * (h + gap) + 28), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(str(get_font(DEFAULT_CJK_FONT).locate()[0]), 15)
    draw.text(
        (gap, 4),
        f"rendered ({get_spec(spec).name}, {degradations if isinstance(degradations, str) else 'custom'})",
        fill=(0, 0, 0),
        font=font,
    )
    draw.text((block + 2 * gap, 4), f"real ({Path(real_dir).name})", fill=(0, 0, 0), font=font)
    for side, images in enumerate((rendered, real)):
        for k, img in enumerate(images):
            x = gap + side * (block + gap) + (k % cols) * (w + gap)
            canvas.paste(img.resize((w, h), Image.Resampling.BILINEAR), (x, 28 + (k // cols) * (h + gap)))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    return Path(target)
