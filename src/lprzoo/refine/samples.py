"""Pictures of a GAN's progress: a grid saved as PNG under ``<default_root_dir>/samples/`` and sent to loggers."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch
from PIL import Image
from torchvision.utils import make_grid


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` floats -> ``uint8`` in ``[0, 255]``, same shape."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def log_grid(trainer: pl.Trainer, images: torch.Tensor, nrow: int, name: str) -> Path:
    """Save ``(N, 3, H, W)`` images in ``[-1, 1]`` as one grid, ``nrow`` per row; return the PNG's path.

    The PNG is ``<default_root_dir>/samples/<name>_epoch<NNN>.png``; the grid also goes to every logger that takes
    images (W&B's ``log_image``, TensorBoard's ``add_image``) under ``samples/<name>``.
    """
    grid = make_grid(to_uint8(images).cpu(), nrow=nrow, padding=2, pad_value=255)  # (3, H', W') uint8
    picture = Image.fromarray(grid.permute(1, 2, 0).numpy())
    path = Path(trainer.default_root_dir) / "samples" / f"{name}_epoch{trainer.current_epoch:03d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):  # W&B
            logger.log_image(f"samples/{name}", [picture], step=trainer.global_step)
        elif hasattr(getattr(logger, "experiment", None), "add_image"):  # TensorBoard
            logger.experiment.add_image(f"samples/{name}", grid, trainer.global_step)
    return path
