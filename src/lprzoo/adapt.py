"""``lprzoo adapt``: a folder of unlabelled crops from a new camera -> a reader for that camera (paper §IV-G, extended).

The chain that the measurements in ``docs/adaptation.md`` chose, with fixed defaults and no per-camera flag:

1. **Start** from a reader trained without any data of the camera (``--start``, by default the zoo's
   ``lightcrnn-1.2-blend-cjk``: real crops blended with all-province renders whose province glyph is drawn in four
   weights).
2. **Round k**: read the pool with the current reader (beam top-1); keep a reading that fits a plate grammar and whose
   probability is at least ``min_confidence`` (:mod:`lprzoo.pseudo`); fine-tune from the current reader on the
   labelled source crops (``--source``) blended with renders (rehearsal: the provinces and colours the source lacks)
   and the kept pool crops (:class:`~lprzoo.data.blend.BlendedDataModule`, shares 0.45 / 0.30 / 0.25).
3. **Stop** (the rule, on unlabelled data only): before round k >= 2 trains, the pool's new pseudo-labels are
   compared with the previous round's.  When the kept set grew by fewer than ``stop_growth`` of the pool *and* fewer
   than ``stop_changed`` of the pool's readings changed, another round would train on what the last one did: the
   chain stops and the last trained reader is the result.  It also stops after ``max_rounds`` rounds, or when the
   next round would not fit in the time budget (its estimate: the slowest round so far).

The adapted reader's confidence is calibrated on the labelled source crops ``--val`` (:mod:`lprzoo.calibrate`), so
``lprzoo.load(file, min_precision=0.99)`` can choose a reject threshold.

Everything is written under ``--out``: ``adapt.json`` (the state, rewritten atomically after every stage, which
``--resume`` continues from; a round's training resumes from its ``last.ckpt``), one folder per round (pseudo-labels,
checkpoints, logs), ``<name>.safetensors`` + ``<name>.yaml`` (a zoo-format entry: ``lprzoo.load``, ``export`` and
``benchmark`` read it) and ``report.md`` with its pictures.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lprzoo.errors import LprzooError, MissingInputError

log = logging.getLogger(__name__)

# The smallest pool measured: the first 50 crops of target/unlabelled adapted to target/dev 95.7 % in two rounds, as
# the whole pool of 429 did (docs/adaptation.md); smaller pools are unmeasured, so refused.
MIN_POOL = 50
DEFAULT_START = "lightcrnn-1.2-blend-cjk"
STATE_FILE = "adapt.json"
# the blend of a self-training round (docs/adaptation.md: the shares of lightcrnn-1.2-adapt-cjk's rounds)
SHARES = {"real_weight": 0.45, "render_weight": 0.30, "pseudo_weight": 0.25}
# the progress bar counts training steps; reading one pool crop takes about this share of a step (beam search, CPU)
STEPS_PER_CROP = 1 / 16


@dataclass
class RoundRecord:
    """What one round did: its pseudo-labels (counts by decision), how they moved, and its training."""

    round: int
    reader: str  # the reader that labelled the pool
    kept: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    changed: float | None = None  # share of the pool whose reading differs from the previous round's
    growth: float | None = None  # (kept - previous kept) / pool
    mean_confidence: float = 0.0
    trained: bool = False
    steps: int = 0
    seconds: float = 0.0
    val: dict[str, float] = field(default_factory=dict)
    model: str = ""


def pool_digest(files: list[Path]) -> str:
    """sha256 over the pool's file names and bytes, in name order: the same crops give the same digest."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


class ChainProgress:
    """One bar over the whole chain (rich, with an ETA) in a terminal; a log line every ``interval`` s elsewhere."""

    def __init__(self, total: float, interval: float = 30.0, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self.terminal = console.is_terminal and enabled
        self.interval, self.last_line, self.start = interval, time.monotonic(), time.monotonic()
        self.total, self.done, self.what = total, 0.0, ""
        self.resumed_at = 0.0  # work done by an earlier, interrupted run: not counted in the ETA's rate
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), console=console, disable=not self.terminal,
        )  # fmt: skip
        self.task = self.progress.add_task("adapt", total=total)

    def __enter__(self) -> ChainProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def describe(self, what: str) -> None:
        self.what = what
        self.progress.update(self.task, description=what)
        log.info("adapt: %s", what)

    def resize(self, total: float) -> None:
        self.total = max(total, self.done)
        self.progress.update(self.task, total=self.total)

    def skip(self, n: float) -> None:
        """Work an interrupted run already did."""
        self.advance(n)
        self.resumed_at = self.done

    def advance(self, n: float = 1) -> None:
        self.done += n
        self.progress.advance(self.task, n)
        now = time.monotonic()
        if not self.terminal and now - self.last_line >= self.interval:
            self.last_line = now
            elapsed = now - self.start
            eta = elapsed / max(self.done - self.resumed_at, 1e-9) * (self.total - self.done)
            log.info(
                "adapt: %s  %.0f %%  elapsed %s  ETA %s", self.what, 100 * self.done / max(self.total, 1e-9),
                _hms(elapsed), _hms(eta),
            )  # fmt: skip


def _hms(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def _check_inputs(images: str, out: str, source: str, resume: bool, min_pool: int) -> list[Path]:
    from lprzoo.pseudo import pool_images

    if not images or not out:
        missing = [f"--{k}" for k, v in (("images", images), ("out", out)) if not v]
        raise LprzooError(f"adapt: give {' and '.join(missing)} (a folder of unlabelled crops, an output folder)")
    files = pool_images(images, verb="adapt")
    if len(files) < min_pool:
        raise LprzooError(
            f"adapt: {images} holds {len(files)} images; at least {min_pool} crops of the camera are needed "
            f"(the smallest pool measured to adapt a reader)"
        )
    if not Path(source).expanduser().exists():
        raise MissingInputError(f"adapt: no labelled source crops at {source} (--source)")
    state = Path(out) / STATE_FILE
    if state.is_file() and not resume:
        raise LprzooError(f"adapt: {out} holds an adaptation already; add --resume to continue it, or choose --out")
    if resume and not state.is_file():
        raise LprzooError(f"adapt: nothing to resume in {out} (no {STATE_FILE})")
    return files


def adapt(
    images: str = "",
    out: str = "",
    source: str = "../shared/data/real/train",
    val: str | None = "../shared/data/real/val",
    start: str = DEFAULT_START,
    name: str = "",
    budget_minutes: float = 60.0,
    seed: int = 0,
    max_rounds: int = 4,
    min_confidence: float = 0.9,
    stop_growth: float = 0.05,
    stop_changed: float = 0.05,
    epochs_per_round: int = 10,
    train_size: int | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    glyph_jitter: bool = False,
    num_workers: int = 1,
    accelerator: str = "auto",
    min_pool: int = MIN_POOL,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Adapt a reader to a new camera from a folder of its unlabelled plate crops; no label of the camera is used.

    Args:
        images: a folder of unlabelled crops from the camera (at least ``min_pool``).
        out: the output folder (state, rounds, the adapted reader and its report).
        source: labelled crops the reader keeps rehearsing (a folder or labels file), so it does not forget.
        val: labelled source crops measured after every round (``null``: none); never the camera's.
        start: the reader to adapt: a zoo name or a weights file trained without the camera's data.
        name: the adapted reader's name (default ``<start>-adapt-<folder name>``).
        budget_minutes: wall-clock budget; no round starts that would not end within it.
        seed: seed of the blend, the renders and the training.
        max_rounds: at most this many self-training rounds.
        min_confidence: a pseudo-label is kept when its beam probability is at least this.
        stop_growth: the stopping rule's bound on the kept set's growth, as a share of the pool.
        stop_changed: the stopping rule's bound on the share of the pool whose reading changed.
        epochs_per_round: training epochs per round.
        train_size: items per epoch (default: every source crop about once per epoch).
        batch_size: training batch size.
        lr: AdamW's peak learning rate (one-cycle schedule per round).
        glyph_jitter: the rehearsal renders also vary the province glyph's stroke and size
            (:class:`~lprzoo.render.fonts.GlyphJitter`), beyond its four Noto Sans CJK weights; off by default: it
            changed neither real/val nor render-31 in the fine-tune (docs/adaptation.md).
        num_workers: data loader workers.
        accelerator: ``auto`` (a GPU when there is one), ``cpu`` or ``gpu``.
        min_pool: the fewest crops accepted.
        resume: continue the adaptation in ``out`` where it stopped.
        progress: show the progress bar (in a terminal; elsewhere a log line every 30 s).

    Returns:
        the adapted reader's ``.safetensors`` file.
    """
    if budget_minutes <= 0 or max_rounds < 1 or not 0 < min_confidence <= 1 or epochs_per_round < 1 or batch_size < 1:
        raise LprzooError(
            "adapt: --budget_minutes, --max_rounds, --epochs_per_round and --batch_size must be positive and "
            "--min_confidence in (0, 1]"
        )
    files = _check_inputs(images, out, source, resume, min_pool)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    state_path = root / STATE_FILE
    config = {
        "images": str(Path(images).expanduser().resolve()), "source": source, "val": val, "start": start,
        "name": name or f"{_reader_name(start)}-adapt-{Path(images).resolve().name}", "budget_minutes": budget_minutes,
        "seed": seed, "max_rounds": max_rounds, "min_confidence": min_confidence, "stop_growth": stop_growth,
        "stop_changed": stop_changed, "epochs_per_round": epochs_per_round, "train_size": train_size,
        "batch_size": batch_size, "lr": lr, "glyph_jitter": glyph_jitter, "shares": SHARES,
    }  # fmt: skip
    digest = pool_digest(files)
    if resume:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state["pool"]["sha256"] != digest:
            raise LprzooError(f"adapt: the crops in {images} changed since {out} started; use a new --out")
        config = state["config"]  # the run continues as it started
    else:
        state = {"config": config, "pool": {"path": config["images"], "count": len(files), "sha256": digest},
                 "rounds": [], "stopped": None, "elapsed_s": 0.0, "result": None}  # fmt: skip
        _write_json(state_path, state)
    if state.get("result"):
        log.info("adapt: %s is complete: %s", out, state["result"])
        return Path(state["result"])
    return _run_chain(state, state_path, files, accelerator, num_workers, progress)


def _reader_name(reader: str) -> str:
    """A zoo name as it is; a weights file by its name, or by its round folder (``round2``) for a round's model."""
    path = Path(reader)
    if path.suffix not in (".safetensors", ".ckpt"):
        return reader
    return path.parent.name if path.stem == "model" else path.stem


def _round_dir(root: Path, k: int) -> Path:
    return root / f"round{k}"


def _estimated_steps(config: dict[str, Any], source_count: int) -> int:
    real_share = SHARES["real_weight"] / sum(SHARES.values())
    per_epoch = config["train_size"] or round(source_count / real_share)
    return max(1, per_epoch // config["batch_size"]) * config["epochs_per_round"]


def _run_chain(
    state: dict[str, Any], state_path: Path, files: list[Path], accelerator: str, num_workers: int, show: bool
) -> Path:
    from lprzoo.charset import Charset
    from lprzoo.data.sources import read_source
    from lprzoo.pseudo import label_pool, write_pseudo_labels
    from lprzoo.reader import load

    config, root = state["config"], state_path.parent
    rounds = [RoundRecord(**r) for r in state["rounds"]]
    pool = len(files)
    steps = _estimated_steps(config, len(read_source(config["source"], Charset(), plates=False)))
    clock = time.monotonic() - state["elapsed_s"]

    def save() -> None:
        state["rounds"] = [asdict(r) for r in rounds]
        state["elapsed_s"] = round(time.monotonic() - clock, 1)
        _write_json(state_path, state)

    previous_rows: list[dict] | None = None
    reading = pool * STEPS_PER_CROP
    with ChainProgress(config["max_rounds"] * (reading + steps), enabled=show) as bar:
        bar.skip(sum(reading + (r.steps if r.trained else 0) for r in rounds))
        k = len([r for r in rounds if r.trained]) + 1
        while state["stopped"] is None:
            if k > config["max_rounds"]:
                state["stopped"] = f"max_rounds ({config['max_rounds']}) reached"
                break
            current = rounds[-1].model if rounds and rounds[-1].trained else config["start"]
            folder = _round_dir(root, k)
            pseudo = folder / "pseudo"
            # 1. pseudo-labels (kept from an interrupted run if they were written)
            if len(rounds) < k or not (pseudo / "labels.tsv").is_file():
                bar.describe(f"round {k}: reading the pool ({pool} crops)")
                reader = load(current, beam_width=10, top_n=3, grammar=False)  # as lprzoo pseudo-label reads
                rows = label_pool(reader, files, config["min_confidence"], lambda: bar.advance(STEPS_PER_CROP))
                write_pseudo_labels(rows, pseudo)
                record = RoundRecord(round=k, reader=str(current))
                rounds[k - 1 : k] = [record]
            else:
                record = rounds[k - 1]
                rows = _read_rows(pseudo)
            decisions = Counter(r["decision"] for r in rows)
            record.decisions = dict(decisions)
            record.kept = decisions["kept"]
            record.mean_confidence = round(sum(r["confidence"] for r in rows) / pool, 4)
            if previous_rows is None and k > 1:
                previous_rows = _read_rows(_round_dir(root, k - 1) / "pseudo")
            if previous_rows is not None:
                before = {r["source"]: r["text"] for r in previous_rows}
                record.changed = round(sum(before.get(r["source"]) != r["text"] for r in rows) / pool, 4)
                record.growth = round((record.kept - rounds[k - 2].kept) / pool, 4)
            log.info(
                "adapt: round %d pseudo-labels: kept %d of %d (%s)%s", k, record.kept, pool,
                ", ".join(f"{n} {d}" for d, n in decisions.most_common()),
                "" if record.changed is None else f"; changed {record.changed:.1%}, growth {record.growth:+.1%}",
            )  # fmt: skip
            save()
            # 2. the stopping rule, then the budget
            if (
                record.changed is not None
                and record.growth < config["stop_growth"]
                and record.changed < config["stop_changed"]
            ):
                state["stopped"] = (
                    f"converged before round {k}: the kept set grew by {record.growth:.1%} of the pool "
                    f"(< {config['stop_growth']:.0%}) and {record.changed:.1%} of readings changed "
                    f"(< {config['stop_changed']:.0%})"
                )
                break
            elapsed = time.monotonic() - clock
            slowest = max((r.seconds for r in rounds if r.trained), default=0.0)
            if k > 1 and elapsed + slowest > config["budget_minutes"] * 60:
                state["stopped"] = (
                    f"budget: {elapsed / 60:.1f} of {config['budget_minutes']:g} min used, a round takes "
                    f"{slowest / 60:.1f} min"
                )
                break
            if record.kept == 0:
                state["stopped"] = f"round {k}: no pseudo-label passed the grammar and the threshold"
                break
            # 3. self-training
            bar.describe(f"round {k}: self-training on {record.kept} pseudo-labels")
            started = time.monotonic()
            remaining = config["budget_minutes"] * 60 - (started - clock)
            record.steps, record.val, ckpt = _train_round(
                config, current, pseudo, folder, k, steps, remaining, accelerator, num_workers, bar
            )
            record.seconds = round(record.seconds + time.monotonic() - started, 1)
            record.model = str(_export_round(ckpt, folder / "model.safetensors"))
            record.trained = True
            previous_rows = rows
            bar.resize(bar.done + (config["max_rounds"] - k) * (reading + steps))
            save()
            k += 1
        bar.describe("writing the adapted reader and its report")
        trained = [r for r in rounds if r.trained]
        if not trained:
            raise LprzooError(f"adapt: no round trained ({state['stopped']})")
        result = _publish(state, trained, root)
        state["result"] = str(result)
        save()
        _report(state, rounds, root, files)
        bar.resize(bar.done)
    log.info("adapt: stopped: %s", state["stopped"])
    log.info("adapt: %s (%d rounds, %.1f min) -> %s", config["name"], len(trained), state["elapsed_s"] / 60, result)
    return result


def _read_rows(pseudo: Path) -> list[dict]:
    with (pseudo / "pseudo.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@contextlib.contextmanager
def _quiet_lightning() -> Iterator[None]:
    """adapt reports its own progress; Lightning's per-trainer lines (devices, tips) would repeat every round."""
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    lightning_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        lightning_log.setLevel(level)


def _train_round(
    config: dict[str, Any],
    current: str,
    pseudo: Path,
    folder: Path,
    k: int,
    steps: int,
    remaining_s: float,
    accelerator: str,
    num_workers: int,
    bar: ChainProgress,
) -> tuple[int, dict[str, float], Path]:
    """One self-training round of about ``steps`` steps with Lightning, resumable from its ``last.ckpt``."""
    import datetime

    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from lprzoo.data.blend import BlendedDataModule
    from lprzoo.precision import choose_precision
    from lprzoo.recognize.crnn import architecture
    from lprzoo.recognize.module import CRNNModule
    from lprzoo.render.config import RenderConfig
    from lprzoo.render.fonts import CJK_WEIGHT_MIX, GlyphJitter
    from lprzoo.weights import read_weights, recognizer_state

    class Advance(pl.Callback):
        def on_train_batch_end(self, *args, **kwargs) -> None:
            bar.advance(1)

    _, record = recognizer_state(read_weights(current))
    arch = architecture(record.arch, record.arch_kwargs) or record.arch
    pl.seed_everything(config["seed"] + k, workers=True, verbose=False)
    model = CRNNModule(
        arch=arch,
        extra_chars=record.extra_chars,
        optimizer=lambda params: torch.optim.AdamW(params, lr=config["lr"], weight_decay=0.01),
        init_from=current,
    )
    data = BlendedDataModule(
        train=config["source"],
        val=config["val"],
        pseudo=str(pseudo),
        train_size=config["train_size"],
        render=RenderConfig(
            cjk_fonts=list(CJK_WEIGHT_MIX), cjk_jitter=GlyphJitter() if config["glyph_jitter"] else None
        ),
        seed=config["seed"] + k,
        extra_chars=record.extra_chars,
        batch_size=config["batch_size"],
        num_workers=num_workers,
        **SHARES,
    )
    checkpoints = folder / "checkpoints"
    # last.ckpt every 50 steps, or every epoch when epochs are shorter: a kill loses at most that much
    every = max(1, min(50, steps // config["epochs_per_round"]))
    last = ModelCheckpoint(checkpoints, "last", every_n_train_steps=every, save_on_train_epoch_end=True)
    precision, why = choose_precision(accelerator)
    log.info("adapt: round %d trains with precision %s, because %s", k, precision, why)
    with _quiet_lightning():
        trainer = pl.Trainer(
            accelerator=accelerator,
            devices=1,
            precision=precision,
            max_epochs=config["epochs_per_round"],
            max_time=datetime.timedelta(seconds=max(60.0, remaining_s)),
            gradient_clip_val=5.0,
            check_val_every_n_epoch=config["epochs_per_round"],
            num_sanity_val_steps=0,
            limit_val_batches=1.0 if config["val"] else 0,
            callbacks=[last, Advance()],
            logger=CSVLogger(str(folder), name="logs"),
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=str(folder),
        )
        resume = checkpoints / "last.ckpt"
        trainer.fit(model, data, ckpt_path=str(resume) if resume.is_file() else None)
        trainer.save_checkpoint(resume, weights_only=False)  # the whole state: a later --resume continues from it
    val = {
        k.removeprefix("val/"): round(float(v), 4) for k, v in trainer.callback_metrics.items() if k.startswith("val/")
    }
    return trainer.global_step, val, resume


def _export_round(ckpt: Path, target: Path) -> Path:
    import torch

    from lprzoo.weights import load_recognizer, save_recognizer

    net, record = load_recognizer(ckpt)
    return save_recognizer(target, net, record, dtype=torch.float32)


def _publish(state: dict[str, Any], trained: list[RoundRecord], root: Path) -> Path:
    """``<out>/<name>.safetensors`` (the last trained round, fp32) and ``<out>/<name>.yaml``, a zoo-format record."""
    import torch

    from lprzoo.precision import cpu_summary
    from lprzoo.publish import recognizer_entry, write_entry
    from lprzoo.weights import load_recognizer, save_recognizer

    config = state["config"]
    net, record = load_recognizer(trained[-1].model)
    record.name = config["name"]
    if config["val"]:  # calibrated on the labelled source crops: the camera's labels are never used
        from lprzoo.calibrate import fit_calibration
        from lprzoo.calibration import REREAD_BELOW
        from lprzoo.evaluate import labelled_images
        from lprzoo.reader import PlateReader

        images, labels = labelled_images(config["val"], record)
        reader = PlateReader(net, record)
        record.calibration = fit_calibration(reader, images, labels, 0.99, config["val"], reread_below=REREAD_BELOW)
    weights = root / f"{config['name']}.safetensors"
    adaptation = {
        "pool": state["pool"],
        "start": config["start"],
        "source": config["source"],
        "rounds": [
            {"round": r.round, "kept": r.kept, "decisions": r.decisions, "changed": r.changed, "growth": r.growth,
             "steps": r.steps, "minutes": round(r.seconds / 60, 1), "val": r.val}
            for r in trained
        ],
        "stopped": state["stopped"],
        "budget_minutes": config["budget_minutes"],
        "elapsed_minutes": round(state["elapsed_s"] / 60, 1),
        "seed": config["seed"],
        "cpu": cpu_summary(),
    }  # fmt: skip
    save_recognizer(weights, net, record, dtype=torch.float32, extra={"adaptation": adaptation})
    entry = {
        **recognizer_entry(config["name"], weights, record),
        "command": "lprzoo " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["adapt"] else "lprzoo adapt",
        "data": {
            "summary": f"{config['source']} + renders + {state['pool']['path']} (self-labelled)",
            "sources": {"pool": state["pool"]},
        },
        "adaptation": adaptation,
        "metrics": {"source val (after the last round)": trained[-1].val} if trained[-1].val else {},
        "license": "Apache-2.0",
    }
    write_entry(root, entry, weights)
    return weights


def _report(state: dict[str, Any], rounds: list[RoundRecord], root: Path, files: list[Path]) -> Path:
    """``report.md``: pseudo-label counts and confidence per round, and a grid of the pool's readings per round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from lprzoo.reader import plate_tensor
    from lprzoo.viz import prediction_grid

    config = state["config"]
    rows = {r.round: _read_rows(_round_dir(root, r.round) / "pseudo") for r in rounds}
    # counts per round
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    kinds = ["kept", "low confidence", "not a plate"]
    bottom = [0] * len(rounds)
    for kind, colour in zip(kinds, ["#2a9d3a", "#e9a03b", "#c0392b"]):
        values = [r.decisions.get(kind, 0) for r in rounds]
        ax.bar([f"round {r.round}" for r in rounds], values, bottom=bottom, label=kind, color=colour)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_ylabel("pool crops")
    ax.set_title("pseudo-labels per round")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(root / "pseudo_counts.png")
    plt.close(fig)
    # confidence histograms
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=120)
    for r in rounds:
        ax.hist([row["confidence"] for row in rows[r.round]], bins=20, range=(0, 1), histtype="step", lw=1.5,
                label=f"round {r.round} (reader: {_reader_name(r.reader)})")  # fmt: skip
    ax.axvline(config["min_confidence"], color="k", ls="--", lw=1)
    ax.set_xlabel("beam probability of the top reading")
    ax.set_ylabel("pool crops")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(root / "confidence.png")
    plt.close(fig)
    # the first 16 crops, read by each round's reader (a file of the pool that is not an image is never shown)
    unreadable = {row["source"] for r in rounds for row in rows[r.round] if row["decision"] == "not an image"}
    shown = [p for p in files if str(p) not in unreadable][:16]
    from lprzoo.weights import read_weights, recognizer_state

    _, record = recognizer_state(read_weights(config["start"]))  # the adapted reader keeps its start's contract
    images = torch.stack([plate_tensor(p, *record.input.size)[0] for p in shown])  # as the reader takes them
    pictures = []
    for r in rounds:
        by_source = {row["source"]: row for row in rows[r.round]}
        readings = [by_source.get(str(p), {"text": "", "confidence": 0.0}) for p in shown]
        grid = prediction_grid(images, [x["text"] for x in readings], confidences=[x["confidence"] for x in readings])
        picture = f"readings_round{r.round}.png"
        grid.save(root / picture)
        pictures.append((r.round, picture))
    lines = [
        f"# Adaptation of `{config['start']}` to `{state['pool']['path']}`",
        "",
        f"Pool: {state['pool']['count']} crops (sha256 {state['pool']['sha256'][:16]}…); labelled source: "
        f"`{config['source']}`; seed {config['seed']}; budget {config['budget_minutes']:g} min, used "
        f"{state['elapsed_s'] / 60:.1f} min.",
        f"Stopped: {state['stopped']}.",
        f"Result: `{Path(state['result']).name}`" if state.get("result") else "",
        "",
        "| round | read by | kept | low confidence | not a plate | changed | growth | steps | minutes "
        "| source val RA |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        changed = "–" if r.changed is None else f"{r.changed:.1%}"
        growth = "–" if r.growth is None else f"{r.growth:+.1%}"
        val = f"{r.val['RA']:.4f}" if "RA" in r.val else "–"
        lines.append(
            f"| {r.round} | `{_reader_name(r.reader)}` | {r.kept} | {r.decisions.get('low confidence', 0)} | "
            f"{r.decisions.get('not a plate', 0)} | {changed} | {growth} | {r.steps if r.trained else '–'} | "
            f"{r.seconds / 60:.1f} | {val} |"
        )
    lines += ["", "![pseudo-label counts](pseudo_counts.png)", "", "![confidence](confidence.png)", ""]
    for k, picture in pictures:
        lines += [f"Round {k}'s reader on the first 16 crops of the pool:", "", f"![round {k}]({picture})", ""]
    path = root / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
