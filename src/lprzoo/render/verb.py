"""``lprzoo render``: labelled synthetic plates to a folder (paper §IV-C)."""

from __future__ import annotations

import logging

from lprzoo.render.degrade import DegradationsChoice

log = logging.getLogger(__name__)


def render(
    spec: str = "blue",
    n: int = 1000,
    out: str = "renders/blue",
    seed: int = 0,
    workers: int = 2,
    degradations: DegradationsChoice = "default",
    preview: str | None = None,
) -> None:
    """Render a labelled dataset: ``<out>/NNNNNNN_<label>.jpg`` plus ``labels.tsv`` (paper §IV-C).

    Resumable: run the same command again after an interruption and only the missing images are drawn.

    Args:
        spec: plate spec (blue, yellow, green, yellow-double, police, or any registered one).
        n: number of plates.
        out: output folder.
        seed: image i depends only on (seed, i).
        workers: render processes.
        degradations: a preset (default, paper, none) or a typed pipeline whose every degradation is tunable.
        preview: a PNG path for a grid of sample plates.
    """
    from lprzoo.errors import LprzooError
    from lprzoo.render import SPECS, render_to_folder

    if n < 1 or workers < 1:
        raise LprzooError(f"render: --n and --workers must be at least 1, got n={n}, workers={workers}")
    if not out.strip():
        raise LprzooError("render: --out is empty; give the folder to render into")
    if spec not in SPECS:
        raise LprzooError(f"render: unknown --spec {spec!r}; registered specs: {', '.join(SPECS.list())}")
    render_to_folder(spec, n, out, seed=seed, workers=workers, preview=preview, degradations=degradations)
    if preview:
        log.info("preview -> %s", preview)
