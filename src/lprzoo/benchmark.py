"""``lprzoo benchmark``: accuracy × speed × size for zoo entries under each runtime, side by side in one run.

For every model × runtime it measures RA on a labelled set (real/val by default), then for every batch size ×
thread count the plates/s and the p50/p95 latency of a forward pass (warm-up first, then repeats), and prints the
CPU with the flags that decide these numbers (AVX2, AVX-512, VNNI, bf16, AMX).  Beside RA it reports the trust
figures of the reading's confidence on that set (ECE, coverage at 99 % and 99.5 % precision) and draws each
model × runtime's reliability diagram and risk-coverage curve into ``out/confidence``.  It writes ``results.md``,
``results.csv`` and ``pareto.png`` (RA against plates/s, one point per model × runtime) into ``out``, and with
``update_zoo`` the batch-64, 1-thread figures into the zoo records.
"""

from __future__ import annotations

import csv
import fnmatch
import logging
import time
from pathlib import Path
from typing import Any

from lprzoo.precision import cpu_summary

log = logging.getLogger(__name__)

RUNTIMES = ("torch", "torch-cl", "onnx", "onnx-int8-lstm-fp32", "onnx-int8")
TRUST = ("RA", "ECE", "coverage@99", "coverage@99.5")  # accuracy and the confidence figures, in percent


def _reader(model: str, runtime: str, threads: int):
    import lprzoo

    if runtime.startswith("onnx"):
        return lprzoo.load(model, runtime=runtime, threads=threads)
    reader = lprzoo.load(model)
    if runtime == "torch-cl":
        import torch

        reader.net = reader.net.to(memory_format=torch.channels_last)
    return reader


def time_reader(
    reader, batch: int = 64, threads: int = 1, repeats: int = 5, min_seconds: float = 1.0
) -> dict[str, float]:
    """The project's one speed timer (``lprzoo benchmark`` and the zoo records): a reader's forward pass on random
    plates of its contract, after two warm-up passes, repeated ``repeats`` times and for at least ``min_seconds``
    (at most ``10 * repeats``); plates/s at the median, p50 and p95 latency of a batch."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.randint(0, 255, (batch, 3, *reader.record.input.size), dtype=torch.uint8)  # the reader's contract
        for _ in range(2):
            reader.log_probs(x)  # warm-up (allocations, ONNX Runtime's first run)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < repeats or time.perf_counter() - start < min_seconds:
            t = time.perf_counter()
            reader.log_probs(x)
            times.append(time.perf_counter() - t)
            if len(times) >= 10 * repeats:
                break
    finally:
        torch.set_num_threads(previous)
    times.sort()
    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))]
    return {"plates_per_s": round(batch / p50, 1), "p50_ms": round(1000 * p50, 2), "p95_ms": round(1000 * p95, 2)}


def benchmark(
    models: str = "lightcrnn-1.2-*",
    runtimes: str = "torch,torch-cl,onnx,onnx-int8",
    batch: str = "1,64",
    threads: str = "1,2",
    data: str = "../shared/data/real/val",
    repeats: int = 10,
    out: str = "runs/benchmark",
    update_zoo: bool = False,
) -> Path:
    """Benchmark zoo entries (a pattern) or weight files under several runtimes.

    Args:
        models: a zoo-name pattern (``lightcrnn*``) or comma-separated names / files.
        runtimes: comma-separated: ``torch`` (eager fp32), ``torch-cl`` (channels-last fp32), ``onnx`` (ONNX Runtime
            fp32), ``onnx-int8-lstm-fp32`` (static QDQ int8, LSTMs fp32), ``onnx-int8`` (LSTMs dynamic int8 too).
        batch: comma-separated batch sizes.
        threads: comma-separated thread counts.
        data: a labelled folder for RA (``none`` to skip accuracy).
        repeats: timed forward passes per setting (at least; runs for at least 1 s).
        out: output folder for results.md, results.csv and pareto.png.
        update_zoo: write the batch-64, 1-thread figures of each entry's fastest runtime into its zoo record.
    """
    from rich.progress import Progress

    from lprzoo.evaluate import evaluate, labelled_images
    from lprzoo.hub import zoo_records

    records = zoo_records()
    names = [m.strip() for m in models.split(",")]
    chosen = [n for pattern in names for n in sorted(records) if fnmatch.fnmatch(n, pattern)] or names
    runtime_list = [r.strip() for r in runtimes.split(",")]
    known = ("torch", "torch-cl", "onnx", "onnx-int8-lstm-fp32", "onnx-int8")
    unknown = [r for r in runtime_list if r not in known]
    if unknown:
        from lprzoo.errors import LprzooError

        raise LprzooError(f"benchmark: unknown runtime {', '.join(map(repr, unknown))}; use {', '.join(known)}")
    batches = [int(b) for b in batch.split(",")]
    thread_list = [int(t) for t in threads.split(",")]
    rows: list[dict[str, Any]] = []
    cpu = cpu_summary()
    log.info("CPU: %s", cpu)
    labelled = None if data in ("", "none") else data
    total = len(chosen) * len(runtime_list) * (1 + len(batches) * len(thread_list))
    with Progress() as progress:
        task = progress.add_task("benchmarking", total=total)
        for model in chosen:
            params = _params(model)
            for runtime in runtime_list:
                reader = _reader(model, runtime, max(thread_list))
                accuracy: dict[str, Any] = {}
                if labelled:
                    images, labels = labelled_images(labelled, reader.record)
                    pictures = Path(out) / "confidence"  # reliability and risk-coverage of each model x runtime
                    accuracy = evaluate(reader, images, labels, breakdown=False, pictures=pictures,
                                        title=f"{Path(model).stem} {runtime}")  # fmt: skip
                progress.advance(task)
                size = _size(model, reader)
                for b in batches:
                    for t in thread_list:
                        if runtime.startswith("onnx"):
                            reader = _reader(model, runtime, t)
                        speed = time_reader(reader, b, t, repeats)
                        rows.append({"model": model, "runtime": runtime, "batch": b, "threads": t, **speed,
                                     **{k: accuracy.get(k) for k in TRUST}, "params": params, "MB": size})  # fmt: skip
                        progress.advance(task)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    _write(rows, target, cpu)
    if update_zoo:
        _update_zoo(rows, cpu)
    return target / "results.md"


def _params(model: str) -> int:
    from lprzoo.weights import load_recognizer

    net, _ = load_recognizer(model)
    return sum(p.numel() for p in net.parameters())


def _size(model: str, reader) -> float:
    """The deployable file's size in MB: the ONNX file the reader runs, or the weights file."""
    from lprzoo.hub import resolve

    path = Path(reader.net.path) if hasattr(reader.net, "path") else resolve(model)[0]
    return round(path.stat().st_size / 2**20, 2)


def _write(rows: list[dict[str, Any]], target: Path, cpu: str) -> None:
    columns = ["model", "runtime", "batch", "threads", "plates_per_s", "p50_ms", "p95_ms", *TRUST, "params", "MB"]
    with (target / "results.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"CPU: {cpu}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        percent = {k: "–" if r[k] is None else f"{100 * r[k]:.1f}" for k in TRUST}
        lines.append("| " + " | ".join(percent.get(c, str(r[c])) for c in columns) + " |")
    (target / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    _pareto(rows, target / "pareto.png", cpu)


def _pareto(rows: list[dict[str, Any]], path: Path, cpu: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r["batch"] == max(x["batch"] for x in rows) and r["threads"] == min(x["threads"] for x in rows):
            best[(r["model"], r["runtime"])] = r
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    markers = {"torch": "o", "torch-cl": "s", "onnx": "^", "onnx-int8-lstm-fp32": "D", "onnx-int8": "P"}
    models = sorted({model for model, _ in best})
    colours = {m: plt.cm.tab10(i % 10) for i, m in enumerate(models)}  # colour = model, marker = runtime
    for (model, runtime), r in sorted(best.items()):
        if r["RA"] is None:
            continue
        ax.scatter(r["plates_per_s"], 100 * r["RA"], marker=markers.get(runtime, "o"), s=70, color=colours[model])
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[m], marker="o", ls="", label=m) for m in models]
    handles += [Line2D([], [], color="grey", marker=mk, ls="", label=rt) for rt, mk in markers.items()
                if any(k[1] == rt for k in best)]  # fmt: skip
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_xscale("log")
    ax.set_xlabel(f"plates/s (batch {max(x['batch'] for x in rows)}, {min(x['threads'] for x in rows)} thread)")
    ax.set_ylabel("RA on the labelled set (%)")
    ax.set_title(cpu.split(";")[0][:70], fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _update_zoo(rows: list[dict[str, Any]], cpu: str) -> None:
    from lprzoo.hub import ZooRecord, zoo_dir

    for path in zoo_dir().glob("*.yaml"):
        record = ZooRecord.read(path)
        mine = [r for r in rows if r["model"] == record.name and r["batch"] == 64 and r["threads"] == 1]
        if not mine:
            continue
        record.benchmark = {r["runtime"]: {k: r[k] for k in ("plates_per_s", "p50_ms", "p95_ms", *TRUST, "MB")}
                            for r in mine}  # fmt: skip
        record.benchmark["cpu"] = cpu
        record.write(path.parent)
