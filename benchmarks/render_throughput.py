"""Renderer throughput on one core: plates/s at 160x48, with the default degradations, the paper's three, and none.

    python benchmarks/render_throughput.py [--n 3000] [--specs blue green] [--folder-dir /path/on/the/disk]

Runs single-process with torch and OpenCV limited to one thread. The "ScriptPlates[i]" rows time what a
DataLoader worker does (per-item SeedSequence + render + uint8 tensor); "one latin font" is the renderer without
its font mix; "render_to_folder" is what ``lprzoo render --workers 1`` does after start-up (per-item SeedSequence,
render, JPEG encode, atomic write of one file per plate into a new folder under ``--folder-dir``). Creating files
costs what the file system charges: compare folders on the same disk.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from lprzoo.render import PlateRenderer
from lprzoo.render.dataset import render_to_folder
from lprzoo.render.fonts import DEFAULT_LATIN_FONT
from lprzoo.render.plates import ScriptPlates


def _rate(fn, n: int) -> float:
    for i in range(min(200, n)):  # warm the glyph caches
        fn(i)
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def _folder_rate(spec: str, n: int, root: str | None) -> float:
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        render_to_folder(spec, 200, Path(tmp) / "warm", workers=1, progress=False)  # imports, glyph rasters
        start = time.perf_counter()
        render_to_folder(spec, n, Path(tmp) / "run", workers=1, progress=False)
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="plates per measurement")
    parser.add_argument("--specs", nargs="+", default=["blue"])
    parser.add_argument("--folder-dir", default=None, help="where render_to_folder writes (default: the temp dir)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)

    rows = []
    for spec in args.specs:
        for preset in ("default", "paper", "none"):
            renderer = PlateRenderer(spec, degradations=preset)
            rng = np.random.default_rng(0)
            rate = _rate(lambda _, r=renderer, g=rng: r.sample(g), args.n)
            rows.append((spec, preset, "renderer.sample", rate))
        single = PlateRenderer(spec, latin_fonts=DEFAULT_LATIN_FONT)  # the font mix's cost, if any
        rng = np.random.default_rng(0)
        rows.append((spec, "default", "one latin font", _rate(lambda _, r=single, g=rng: r.sample(g), args.n)))
        ds = ScriptPlates(args.n + 200, {spec: 1.0})
        rows.append((spec, "default", "ScriptPlates[i]", _rate(ds.__getitem__, args.n)))
        rows.append((spec, "default", "render_to_folder", _folder_rate(spec, args.n, args.folder_dir)))

    print(f"{'spec':<14}{'degradations':<14}{'path':<20}{'plates/s':>10}{'us/plate':>10}")
    for spec, preset, path, rate in rows:
        print(f"{spec:<14}{preset:<14}{path:<20}{rate:>10.0f}{1e6 / rate:>10.0f}")


if __name__ == "__main__":
    main()
