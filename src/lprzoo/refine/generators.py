"""CycleGAN generators ``G: S -> R`` as the pipeline uses them: a snapshot ensemble's checkpoints (paper §IV-C: "the
last 20 models"), one generator ready to refine plates, and the Lightning module that applies snapshot ``i % K`` to
rendered plate ``i``.  Their weights are read and written by :mod:`lprzoo.weights`, the one weights format module;
``lprzoo translate`` (:mod:`lprzoo.refine.translate`) and the on-the-fly GAN data module
(:mod:`lprzoo.data.gan`) both build on this module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn
from torchvision.transforms.v2.functional import resize

from lprzoo.batch import INPUT
from lprzoo.errors import CheckpointError, InvalidSampleError
from lprzoo.hub import resolve, zoo_records
from lprzoo.refine.networks import ResnetGenerator
from lprzoo.refine.samples import to_uint8
from lprzoo.weights import read_generator_weights, save_generator_weights

log = logging.getLogger(__name__)

TRAIN_HINT = "train one with `lprzoo fit --config recipes/cyclewgan.yaml`"
MANIFEST = "translate.json"  # the settings of a `lprzoo translate` folder
_EPOCH_IN_NAME = re.compile(r"epoch=?(\d+)(?:.*?step=?(\d+))?")


# ---- checkpoints --------------------------------------------------------------------------------------------
def _missing(path: Path | str) -> FileNotFoundError:
    return FileNotFoundError(f"no generator checkpoint at {path}; {TRAIN_HINT}")


def _epoch_and_step(path: Path) -> tuple[int, int]:
    """``(epoch, global_step)`` of a Lightning checkpoint, read lazily (``mmap``) or, failing that, from its name."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return int(ckpt["epoch"]), int(ckpt.get("global_step", 0))
    except Exception:  # any unreadable file falls back to its name, then to a clear error
        if m := _EPOCH_IN_NAME.search(path.name):
            return int(m[1]), int(m[2] or 0)
        raise InvalidSampleError(path, "not a Lightning checkpoint (no `epoch` inside or in its name)") from None


def resolve_generators(generator: str | Sequence[str], snapshots: int = 1) -> list[Path]:
    """The checkpoints of a snapshot ensemble (paper §IV-C: "we use the last 20 models"), in snapshot order.

    Args:
        generator: a ``CycleGANModule`` checkpoint; a list of them (all are used, in order); or a folder of epoch
            checkpoints (a run's ``checkpoints/`` or the run root holding it), of which the last ``snapshots`` by
            ``(epoch, global_step)`` are used.  ``last.ckpt`` duplicates an epoch and counts once.
        snapshots: ``K`` for a folder; must be 1 for a single file and 1 or ``len(generator)`` for a list.

    Raises:
        FileNotFoundError: a path that does not exist, or a folder without checkpoints (with the command to run).
        InvalidSampleError: fewer checkpoints than ``snapshots``, or an unreadable checkpoint.
    """
    if snapshots < 1:
        raise ValueError(f"snapshots must be >= 1, got {snapshots}")
    if not isinstance(generator, (str, Path)):
        paths = [Path(p).expanduser() for p in generator]
        if not paths:
            raise _missing("[] (an empty list)")
        if snapshots not in (1, len(paths)):
            raise ValueError(f"snapshots={snapshots} but {len(paths)} checkpoints were listed; list them all instead")
        for p in paths:
            if not p.is_file():
                raise _missing(p)
        return paths
    path = Path(generator).expanduser()
    if not path.exists() and str(generator) in zoo_records():  # a zoo generator, e.g. `--generator cyclewgan-blue`
        path, _ = resolve(str(generator))
    if path.is_file():
        if snapshots != 1:
            raise ValueError(f"snapshots={snapshots} needs a folder of epoch checkpoints, but {path} is one file")
        return [path]
    if not path.is_dir():
        raise _missing(path)
    folder = path if any(path.glob("*.ckpt")) or not (path / "checkpoints").is_dir() else path / "checkpoints"
    found: dict[tuple[int, int], Path] = {}
    for ckpt in sorted(folder.glob("*.ckpt"), key=lambda p: (p.name.startswith(("last", "interrupted")), p.name)):
        found.setdefault(_epoch_and_step(ckpt), ckpt)  # epoch files first, so a duplicate `last.ckpt` is dropped
    if not found:
        raise _missing(f"{folder} (the folder holds no *.ckpt)")
    if len(found) < snapshots:
        raise InvalidSampleError(
            folder, f"holds {len(found)} epoch checkpoints but snapshots={snapshots}; lower `snapshots` or train longer"
        )
    chosen = [found[key] for key in sorted(found)[-snapshots:]]
    log.info("snapshot ensemble of %d: %s", len(chosen), ", ".join(p.name for p in chosen))
    return chosen


class ResizedGenerator(nn.Module):
    """A generator trained at another size (the paper's 128×128 squares): resize plates to ``size``, refine, and
    resize back, so every caller hands it and gets back plates at their own size."""

    def __init__(self, generator: nn.Module, size: Sequence[int]) -> None:
        super().__init__()
        self.generator, self.size = generator, [int(x) for x in size]

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]  # (B, 3, h, w) in [-1, 1]
        y = self.generator(resize(x, self.size, antialias=True))  # (B, 3, *size)
        return resize(y, [h, w], antialias=True).clamp(-1, 1)  # (B, 3, h, w)


def load_generator(source: str | Path) -> nn.Module:
    """``G: S -> R`` on the CPU, in eval mode, from a ``CycleGANModule`` checkpoint or a zoo generator's safetensors.

    Read through :func:`lprzoo.weights.read_weights` (never unpickled).  A generator trained at a size other than
    the plate's 48×160 (the data module's ``size``) comes wrapped in :class:`ResizedGenerator`, so it sees plates
    as it saw them in training.
    """
    try:
        path, state, meta = read_generator_weights(source)
    except FileNotFoundError:
        raise _missing(source) from None
    G = ResnetGenerator(3, 3, meta["ngf"], meta["n_blocks"])
    try:
        G.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as e:
        raise CheckpointError(path, f"generator weights do not fit: {str(e).splitlines()[0]}") from None
    size = tuple(meta["size"])
    G = G if size == INPUT.size else ResizedGenerator(G, size)
    return G.eval()


def save_generator(source: str | Path, out: str | Path) -> dict[str, Any]:
    """Write ``G: S -> R`` of a ``CycleGANModule`` checkpoint (or a zoo generator) as the zoo's generator file:
    fp16 safetensors whose metadata ``lprzoo`` holds its shape, which :func:`load_generator` reads back.

    Returns:
        The shape written: ``{"kind": "generator", "ngf": .., "n_blocks": .., "size": [H, W]}``.
    """
    try:
        _, state, meta = read_generator_weights(source)
    except FileNotFoundError:
        raise _missing(source) from None
    save_generator_weights(state, meta, out)
    return meta


class SnapshotTranslator(pl.LightningModule):
    """Applies snapshot ``G_{i % K}`` to the rendered plate of index ``i`` (paper §IV-C's ensemble of epochs).

    Args:
        generators: the ``K`` generators ``G: S -> R``, in snapshot order.
    """

    def __init__(self, generators: Sequence[nn.Module]) -> None:
        super().__init__()
        if not generators:
            raise ValueError("SnapshotTranslator needs at least one generator")
        self.generators = nn.ModuleList(generators)

    def forward(self, images: Tensor, indices: Tensor) -> Tensor:
        """``uint8 (B, 3, H, W)`` renders and their indices ``(B,)`` -> ``uint8 (B, 3, H, W)`` GAN plates."""
        x = images.float().div(127.5).sub(1.0)  # (B, 3, H, W) in [-1, 1], as in training (GANTransform)
        fake = torch.empty_like(x)
        snapshot = indices.to(x.device) % len(self.generators)  # (B,)
        for k, G in enumerate(self.generators):
            mask = snapshot == k
            if mask.any():
                fake[mask] = G(x[mask])  # (b_k, 3, H, W) in [-1, 1]
        return to_uint8(fake)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        images = self(batch["images"], batch["index"])
        return {"index": batch["index"].cpu(), "images": images.cpu(), "texts": batch["texts"]}
