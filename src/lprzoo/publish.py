"""``lprzoo publish``: a trained recognizer -> a zoo entry (``zoo/<name>.safetensors`` + ``zoo/<name>.yaml``).

The record holds everything issue "zoo" asks of it: the weights file and its sha256; the recipe, the git commit and
the exact command; the data the model saw (folders, counts, sha256 of the sorted label list); metrics on the named
sets of :mod:`lprzoo.evaluate`; parameters, file size, plates/s (with the CPU named) and the license.  Weights are
stored in fp16 only if that changes no greedy reading on real/val (checked here, recorded in the file).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from pathlib import Path
from typing import Any

from lprzoo.charset import Charset
from lprzoo.errors import LprzooError
from lprzoo.precision import cpu_summary

log = logging.getLogger(__name__)


def _git_commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], text=True, stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _require(verb: str, **values: str) -> None:
    """One line naming every required option left empty."""
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise LprzooError(f"{verb}: give {', '.join('--' + k for k in missing)}")


def write_entry(folder: Path, entry: dict[str, Any], weights: Path) -> Path:
    """Write ``<folder>/<name>.yaml`` beside its weights file, through the typed record (:class:`~lprzoo.hub.ZooRecord`:
    a key it does not type is a mistake here, not a newer version's)."""
    from lprzoo.hub import ZooRecord

    if not weights.is_file():
        raise LprzooError(f"{weights} was not written")
    record = ZooRecord.from_dict(entry, folder / f"{entry['name']}.yaml")
    if record.extra:
        raise LprzooError(f"zoo record {record.name}: keys the record does not type: {', '.join(record.extra)}")
    path = record.write(folder)
    log.info("zoo entry -> %s (%s, %.1f MB)", path, weights.name, weights.stat().st_size / 2**20)
    return path


def recognizer_entry(name: str, weights: Path, record) -> dict[str, Any]:
    """The head of every recognizer's zoo record: its name, weights file and sha256, and what the weights carry
    (architecture, charset, input contract), for the table and for readers of the YAML alone."""
    from lprzoo.hub import ZOO_URL, sha256_file

    return {
        "name": name,
        "kind": "recognizer",
        "weights": {"file": weights.name, "sha256": sha256_file(weights), "url": f"{ZOO_URL}/{weights.name}"},
        "arch": record.arch,
        "arch_kwargs": record.arch_kwargs,
        "charset_extra": record.extra_chars,
        "input": record.input.to_dict(),
    }


def describe_data(sources: dict[str, str], charset: Charset) -> dict[str, Any]:
    """Labelled sources -> ``{name: {path, count, labels_sha256}}``; the hash is of the sorted label list, read in the
    model's own ``charset`` (a model trained with extra characters is described by its own data)."""
    from lprzoo.data.sources import read_source

    out: dict[str, Any] = {}
    for name, path in sources.items():
        labels = sorted(s.label for s in read_source(path, charset, plates=False))
        digest = hashlib.sha256("\n".join(labels).encode()).hexdigest()
        out[name] = {"path": str(path), "count": len(labels), "labels_sha256": digest}
    return out


def publish(
    ckpt_path: str = "",
    name: str = "",
    recipe: str = "",
    command: str = "",
    data: dict[str, str] | None = None,
    data_notes: str = "",
    train_time: str = "",
    sets: list[str] | None = None,
    license: str = "Apache-2.0",
    zoo: str = "zoo",
    notes: str = "",
    git_commit: str = "",
) -> Path:
    """Write a zoo entry for a recognizer checkpoint and measure its record.

    Args:
        ckpt_path: the trained checkpoint (``.ckpt``) or weights file.
        name: the entry's name, ``<arch>-<datatag>``, e.g. ``lightcrnn-1.2-adapt``.
        recipe: the recipe it was trained with.
        command: the exact command(s) that trained it.
        data: labelled sources it saw, ``{"real/train": "../shared/data/real/train", ...}``.
        data_notes: what else it saw (rendered plates, their specs and counts).
        train_time: wall-clock training time, with the machine.
        sets: named evaluation sets (default ``real/val``, ``target/dev``, ``render-31``, ``render-types``).
        license: the weights' license.
        zoo: the zoo folder.
        notes: anything a user should know (budget, known weaknesses).
        git_commit: the commit it was trained at; default the current one.
    """
    _require("publish", ckpt_path=ckpt_path, name=name, recipe=recipe, command=command)
    import torch

    from lprzoo.benchmark import time_reader
    from lprzoo.evaluate import evaluate, load_named, render_types
    from lprzoo.reader import PlateReader
    from lprzoo.weights import load_recognizer, save_recognizer

    net, record = load_recognizer(ckpt_path)
    record.name = name
    reader32 = PlateReader(net, record)
    folder = Path(zoo)
    weights = folder / f"{name}.safetensors"
    save_recognizer(weights, net, record, dtype=torch.float16)
    net16, _ = load_recognizer(weights)
    reader16 = PlateReader(net16, record)
    metrics: dict[str, Any] = {}
    fp16_check: dict[str, Any] = {}
    handful: dict[str, Any] = {}
    for set_name in sets or ["real/val", "target/dev", "render-31", "render-types"]:
        images, labels, kinds = load_named(set_name, record, with_kinds=True)
        specs = render_types(record.input)[2] if set_name == "render-types" else None  # RA per kind of plate
        full = evaluate(reader16, images, labels, kinds=kinds, specs=specs)
        if set_name == "real/val":
            ref = evaluate(reader32, images, labels)
            same = sum(a == b for a, b in zip(ref["predictions"], full["predictions"]))
            fp16_check = {"set": set_name, "identical_greedy_readings": f"{same}/{len(labels)}"}
            if same != len(labels):  # fp16 would change a reading: store fp32, and report fp32's metrics
                save_recognizer(weights, net, record, dtype=torch.float32)
                fp16_check["stored"] = "fp32 (fp16 changed readings)"
                reader16, full = reader32, ref
            few = evaluate(reader16, images[:32], labels[:32], breakdown=False)  # the zoo test's fixed handful
            handful = {"real/val[:32]": {k: few[k] for k in ("RA", "CRA", "plates")}}
        full.pop("predictions")
        metrics[set_name] = full
        log.info("%s on %s: RA %.4f", name, set_name, full["RA"])

    entry = {
        **recognizer_entry(name, weights, record),
        "storage": {"dtype": "float16" if "stored" not in fp16_check else "float32", "check": fp16_check},
        "recipe": recipe,
        "git_commit": git_commit or _git_commit(),
        "command": command,
        "train_time": train_time,
        "data": {"sources": describe_data(data or {}, record.charset), "notes": data_notes},
        "metrics": metrics,
        "handful": handful,
        "num_params": sum(p.numel() for p in net.parameters()),
        "file_size": weights.stat().st_size,
        "speed": {"plates_per_s": time_reader(reader16)["plates_per_s"], "batch": 64, "threads": 1,
                  "runtime": "torch fp32",
                  "cpu": cpu_summary()},
        "license": license,
        "notes": notes,
    }  # fmt: skip
    return write_entry(folder, entry, weights)


def describe_pool(folder: str) -> dict[str, Any]:
    """An unlabelled image pool -> ``{path, count, names_sha256}``; the hash is of the sorted file names."""
    from lprzoo.charset import Charset
    from lprzoo.data.sources import read_source

    names = sorted(Path(s.path).name for s in read_source(folder, Charset(), labelled=False))
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return {"path": str(folder), "count": len(names), "names_sha256": digest}


def publish_generator(
    ckpt_path: str = "",
    name: str = "",
    recipe: str = "",
    command: str = "",
    real: str = "",
    specs: dict[str, float] | None = None,
    reader: str = "lightcrnn-1.2-adapt",
    n: int = 1000,
    train_time: str = "",
    license: str = "Apache-2.0",
    zoo: str = "zoo",
    notes: str = "",
    git_commit: str = "",
) -> Path:
    """Write a zoo entry for a CycleGAN generator ``G: S -> R`` (``translate --generator NAME`` reads it).

    The record measures G the way docs/gan.md does (:mod:`lprzoo.translation_quality`): a frozen ``reader``'s RA on
    ``n`` renders and on G(renders) (label retention), the Fréchet distance of both to the ``real`` pool G was
    trained towards, and the share of plates whose colour survived.

    Args:
        ckpt_path: a ``CycleGANModule`` checkpoint (one epoch's snapshot).
        name: the entry's name, ``<gan>-<datatag>``, e.g. ``cyclewgan-blue``.
        recipe, command, train_time, license, zoo, notes, git_commit: as :func:`publish`.
        real: the unlabelled pool G was trained towards (its R domain).
        specs: the rendered specs of its S domain, e.g. ``{"blue": 1.0}``.
        reader: the frozen recognizer that measures label retention and gives the FD features.
        n: renders measured.
    """
    from lprzoo.hub import ZOO_URL, sha256_file
    from lprzoo.reader import load
    from lprzoo.refine.generators import load_generator, save_generator
    from lprzoo.translation_quality import generator_quality, real_crops

    _require("publish-generator", ckpt_path=ckpt_path, name=name, recipe=recipe, command=command, real=real)
    folder = Path(zoo)
    weights = folder / f"{name}.safetensors"
    meta = save_generator(ckpt_path, weights)
    G = load_generator(weights)  # measured as it ships: fp16 storage
    specs = dict(specs or {"blue": 1.0})
    pool = real_crops(real)
    quality = generator_quality(G, load(reader), pool, n=n, specs=specs)
    log.info("%s: %s", name, quality)
    entry = {
        "name": name,
        "kind": "generator",
        "weights": {"file": weights.name, "sha256": sha256_file(weights), "url": f"{ZOO_URL}/{weights.name}"},
        "generator": meta,
        "recipe": recipe,
        "git_commit": git_commit or _git_commit(),
        "command": command,
        "train_time": train_time,
        "data": {"summary": f"renders -> {'/'.join(Path(real).parts[-2:])} crops",
                 "sources": {"real": describe_pool(real)}, "notes": f"S: rendered plates {specs}"},
        "metrics": {"translation": quality, "measured": f"{n} renders {specs} at the validation epoch, seed 12345; "
                    f"reader {reader} (greedy RA / CRA-C / CRA-NC against the render's label); FD in its CNN's "
                    f"features to the {len(pool)} crops of {real}"},
        "num_params": sum(p.numel() for p in G.parameters()),
        "file_size": weights.stat().st_size,
        "speed": {"cpu": cpu_summary()},
        "license": license,
        "notes": notes,
    }  # fmt: skip
    return write_entry(folder, entry, weights)
