"""``lprzoo translate``: rendered plates -> CycleGAN generator ``G: S -> R`` -> a labelled folder of GAN plates.

Paper §IV-C, "GAN training and testing": the CycleGAN is saved after every epoch and "the last 20 models" generate
100,000 plates, which keep "the license number [...] from SynthDataset" and take "the realistic style" from the
real plates.  Here rendered plate ``i`` (:class:`~lprzoo.render.plates.ScriptPlates`, i.e. ``lprzoo render``'s image
``i``) goes through snapshot ``i % K`` of the ``K`` generators and is written as ``NNNNNNN_<label>.png`` with the
label of its render; ``labels.tsv`` lists them all.

The loop is a Lightning predict loop, so ``--devices``/``--num_nodes``/``--strategy ddp`` shard it (each rank writes
its share; the output folder must be shared by all nodes):

- :class:`PendingPlates` renders the indices that are not on disk yet (in the DataLoader workers);
- :class:`SnapshotTranslator` (a :class:`~lightning.pytorch.LightningModule`) applies ``G_{i % K}``;
- :class:`TranslationWriter` (a :class:`~lightning.pytorch.callbacks.BasePredictionWriter`) writes each image
  atomically (a hidden temporary file, then ``os.replace``).

Image ``i`` depends only on ``(seed, i)`` and the checkpoints, so an interrupted run resumes with the same command:
finished indices are skipped, a half-written file is never taken for a finished one, and ``labels.tsv`` is rebuilt
from the files at the end.  A ``translate.json`` manifest (spec, degradations, seed, format, the checkpoints'
sha256) makes a resume with other settings an error instead of a silently mixed folder.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import BasePredictionWriter, RichProgressBar
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from lprzoo.folders import atomic_write_bytes, check_manifest, existing_images, image_name, write_labels
from lprzoo.hub import sha256_file
from lprzoo.refine.generators import MANIFEST, SnapshotTranslator, load_generator, resolve_generators
from lprzoo.render import get_spec, resolve_degradations, save_preview
from lprzoo.render.degrade import DegradationsChoice
from lprzoo.render.plates import ScriptPlates

log = logging.getLogger(__name__)

ImageFormat = Literal["png", "jpg"]


# ---- the predict loop ---------------------------------------------------------------------------------------
class PendingPlates(Dataset):
    """The indices still to translate: item ``k`` -> ``{"index": i, "image": uint8 (3, 48, 160), "text": label}``
    with ``i = indices[k]``, rendered exactly as ``plates[i]`` (so the label is the render's).
    """

    def __init__(self, plates: ScriptPlates, indices: Sequence[int]) -> None:
        self.plates, self.indices = plates, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> dict[str, Any]:
        i = self.indices[k]
        image, text, _ = self.plates[i]
        return {"index": i, "image": image, "text": text}


def collate_pending(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"index": (B,) long, "images": uint8 (B, 3, H, W), "texts": [str]}``."""
    return {
        "index": torch.tensor([it["index"] for it in items], dtype=torch.long),
        "images": torch.stack([it["image"] for it in items]),
        "texts": [it["text"] for it in items],
    }


def write_image(path: Path, image: Tensor, quality: int = 95) -> None:
    """Encode ``uint8 (3, H, W)`` by the file's extension and write it atomically (temporary file + ``os.replace``).

    The temporary name carries the process id, so ranks never share one.
    """
    buffer = io.BytesIO()
    picture = Image.fromarray(image.permute(1, 2, 0).contiguous().numpy())  # (H, W, 3)
    if path.suffix == ".jpg":
        picture.save(buffer, format="JPEG", quality=quality)
    else:
        picture.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


class TranslationWriter(BasePredictionWriter):
    """Writes each predicted batch as ``<out>/NNNNNNN_<label>.<ext>`` as soon as it is ready (``write_interval=batch``).

    Args:
        out: the output folder.
        image_format: ``png`` (lossless, the default) or ``jpg``.
    """

    def __init__(self, out: str | Path, image_format: ImageFormat = "png") -> None:
        super().__init__(write_interval="batch")
        self.out, self.image_format = Path(out), image_format
        self.written = 0

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: dict[str, Any],
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        for i, image, text in zip(prediction["index"].tolist(), prediction["images"], prediction["texts"]):
            write_image(self.out / image_name(i, text, self.image_format), image)
        self.written += len(prediction["texts"])

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        log.info("rank %d wrote %d images to %s", trainer.global_rank, self.written, self.out)
        trainer.strategy.barrier("translate-written")  # every rank's images are on disk before labels.tsv


# ---- the folder ---------------------------------------------------------------------------------------------
def _manifest(
    spec: str, degradations: DegradationsChoice, seed: int, image_format: str, checkpoints: list[Path]
) -> dict[str, Any]:
    """What decides the images; ``generator_files`` is informative only (a moved checkpoint is the same model)."""
    manifest = {
        "spec": dataclasses.asdict(get_spec(spec)),
        "degradations": dataclasses.asdict(resolve_degradations(degradations)),
        "seed": seed,
        "format": image_format,
        "generators_sha256": [sha256_file(p) for p in checkpoints],
        "generator_files": [str(p) for p in checkpoints],
    }
    return manifest


def _finish(out: Path, n: int, preview: str | None) -> Path:
    """Check that all ``n`` images are there and (re)write ``labels.tsv`` from the files."""
    done = existing_images(out, n)
    if sorted(done) != list(range(n)):
        missing = sorted(set(range(n)) - set(done))
        raise RuntimeError(f"{out}: {len(missing)} of {n} images missing after translation (first: {missing[:5]})")
    labels = write_labels(out, done)
    if preview:
        save_preview([out / done[i] for i in range(min(32, n))], preview)
        log.info("preview -> %s", preview)
    return labels


def translate(
    generator: str | list[str] = "runs/cyclewgan/checkpoints",
    out: str = "runs/translate/cyclewgan",
    n: int = 10000,
    spec: str = "blue",
    seed: int = 0,
    snapshots: int = 1,
    batch_size: int = 64,
    devices: int | str = 1,
    accelerator: str = "cpu",
    strategy: str = "auto",
    num_workers: int = 1,
    preview: str | None = None,
    num_nodes: int = 1,
    degradations: DegradationsChoice = "default",
    image_format: ImageFormat = "png",
    progress: bool = True,
) -> Path:
    """Translate rendered plates into real-looking ones with CycleGAN generator(s) (paper §IV-C).

    Writes ``<out>/NNNNNNN_<label>.png`` (image ``i`` = ``G_{i % K}(render i)``, labelled like render ``i``), then
    ``labels.tsv`` and ``translate.json``.  Resumable: rerun the same command after an interruption and only the
    missing indices are translated; a rerun with other settings is refused, and a larger ``n`` extends the folder.

    Args:
        generator: a ``CycleGANModule`` checkpoint, a list of them, or a folder of epoch checkpoints; by default
            those of ``recipes/cyclewgan.yaml``.
        out: output folder (created; shared by all ranks and nodes); by default the one ``recipes/gan_only.yaml``
            reads.
        n: number of images (the paper: 100,000 per colour).
        spec: plate spec of the renders (one GAN per colour in the paper).
        seed: render ``i`` depends only on ``(seed, i)``: the same as ``lprzoo render --seed``.
        snapshots: with a folder, use its last ``K`` epoch checkpoints (the paper: 20); image ``i`` uses ``i % K``.
        batch_size: plates per generator forward.
        devices, accelerator, strategy, num_nodes: Lightning ``Trainer`` settings (``strategy: ddp`` shards the
            indices over ranks).
        num_workers: DataLoader processes that render the plates.
        preview: a PNG path for a grid of the first 32 images with their labels.
        degradations: a renderer preset (``default``, ``paper``, ``none``) or a typed ``Degradations``
            whose fields are tuned one by one (``{"low_res": {"p": 0.8}, "jpeg": null}``).
        image_format: ``png`` (lossless) or ``jpg``.
        progress: show Lightning's rich progress bar.

    Returns:
        The ``labels.tsv`` path.
    """
    if image_format not in ("png", "jpg"):
        raise ValueError(f"image_format must be 'png' or 'jpg', got {image_format!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    checkpoints = resolve_generators(generator, snapshots)
    generators = [load_generator(p) for p in checkpoints]  # a bad checkpoint fails before the folder is touched
    folder = Path(out).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    check_manifest(
        folder / MANIFEST, _manifest(spec, degradations, seed, image_format, checkpoints), ("generator_files",)
    )
    todo = sorted(set(range(n)) - set(existing_images(folder, n)))
    log.info("translate: %d of %d images to generate in %s (%d snapshots)", len(todo), n, folder, len(checkpoints))
    if todo:
        (folder / "labels.tsv").unlink(missing_ok=True)  # until every image is there, the folder reads as unfinished
        translator = SnapshotTranslator(generators)
        plates = ScriptPlates(n, {spec: 1.0}, degradations, seed=seed)
        loader = DataLoader(
            PendingPlates(plates, todo),
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=collate_pending,
        )
        callbacks: list[pl.Callback] = [TranslationWriter(folder, image_format)]
        if progress:
            callbacks.append(RichProgressBar())
        trainer = pl.Trainer(
            accelerator=accelerator,
            devices=devices,
            num_nodes=num_nodes,
            strategy=strategy,
            logger=False,
            enable_checkpointing=False,
            enable_model_summary=False,
            enable_progress_bar=progress,
            callbacks=callbacks,
            default_root_dir=str(folder),
        )
        trainer.predict(translator, loader, return_predictions=False)  # images go to disk, not to memory
        if not trainer.is_global_zero:
            return folder / "labels.tsv"  # rank 0 writes it after the writer's barrier
    labels = _finish(folder, n, preview)
    log.info("wrote %d GAN plates and %s", n, labels)
    return labels
