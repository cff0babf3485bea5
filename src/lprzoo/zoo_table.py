"""``lprzoo zoo``: the zoo's entries as a table (metrics on named sets, size, speed), from ``zoo/*.yaml``."""

from __future__ import annotations

from typing import Any

from lprzoo.hub import zoo_records

COLUMNS = (
    "name",
    "kind",
    "trained on",
    "real/val RA",
    "target/dev RA",
    "render-31 RA",
    "render-types RA (worst)",
    "params",
    "MB",
    "plates/s",
    "int8 plates/s",
)
# "trained on" is the record's data.summary, else the names of its labelled sources


def _pct(metrics: dict[str, Any], dataset: str) -> str:
    value = (metrics.get(dataset) or {}).get("RA")
    return "–" if value is None else f"{100 * float(value):.1f}"


def _kinds(metrics: dict[str, Any]) -> str:
    """render-types RA and its worst plate spec: ``"97.3 (yellow-trailer 93.0)"``."""
    entry = metrics.get("render-types") or {}
    if "RA" not in entry:
        return "–"
    by_spec = entry.get("by_spec") or {}
    if not by_spec:
        return f"{100 * float(entry['RA']):.1f}"
    spec, (right, total) = min(by_spec.items(), key=lambda kv: kv[1][0] / max(kv[1][1], 1))
    return f"{100 * float(entry['RA']):.1f} ({spec} {100 * right / max(total, 1):.0f})"


def _trained_on(data: dict[str, Any]) -> str:
    """The record's ``data.summary``, else the names of its labelled sources."""
    return str(data.get("summary") or " + ".join(data.get("sources") or {}) or "–")


def zoo_rows() -> list[list[str]]:
    rows = []
    for name, record in sorted(zoo_records().items()):
        metrics, speed = record.metrics, record.speed
        bench = record.benchmark  # lprzoo benchmark --update_zoo: batch 64, one thread
        rows.append(
            [
                name,
                record.kind,
                _trained_on(record.data),
                _pct(metrics, "real/val"),
                _pct(metrics, "target/dev"),
                _pct(metrics, "render-31"),
                _kinds(metrics),
                f"{record.num_params / 1e6:.2f} M" if record.num_params else "–",
                f"{record.file_size / 2**20:.1f}" if record.file_size else "–",
                str(bench.get("torch", {}).get("plates_per_s", speed.get("plates_per_s", "–"))),
                str(bench.get("onnx-int8", {}).get("plates_per_s", "–")),
            ]
        )
    return rows


def zoo_markdown() -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in zoo_rows()]
    return "\n".join(lines)


def zoo_details() -> str:
    """Per entry: how it was trained, on what, and its accuracy per colour and province (docs/zoo.md)."""
    out = []
    for name, record in sorted(zoo_records().items()):
        out += [f"### `{name}`", ""]
        if record.notes:
            out += [str(record.notes), ""]
        out += [f"- recipe: `{record.recipe}`; trained at commit `{str(record.git_commit)[:10]}`",
                f"- command: `{record.command}`",
                f"- time: {record.train_time}"]  # fmt: skip
        data = record.data
        for source, info in (data.get("sources") or {}).items():
            if "labels_sha256" in info:
                out.append(f"- data `{source}`: {info['count']} labelled images at `{info['path']}` "
                           f"(sha256 of the sorted labels `{info['labels_sha256'][:12]}…`)")  # fmt: skip
            else:  # a generator's unlabelled pool
                out.append(f"- data `{source}`: {info['count']} unlabelled images at `{info['path']}` "
                           f"(sha256 of the sorted file names `{info['names_sha256'][:12]}…`)")  # fmt: skip
        if data.get("notes"):
            out.append(f"- data: {data['notes']}")
        storage = record.storage
        if storage:
            check = storage.get("check") or {}
            out.append(f"- stored as {storage.get('dtype')}; identical greedy readings on {check.get('set')}: "
                       f"{check.get('identical_greedy_readings')}")  # fmt: skip
        speed = record.speed
        if speed.get("plates_per_s"):
            out.append(f"- speed: {speed.get('plates_per_s')} plates/s ({speed.get('runtime')}, batch "
                       f"{speed.get('batch')}, {speed.get('threads')} thread) on {speed.get('cpu')}")  # fmt: skip
        metrics = dict(record.metrics)
        translation = metrics.pop("translation", None)
        if translation:  # a generator: label retention, realism and colour, renders vs G(renders)
            out.append(f"- measured: {metrics.pop('measured', '')}")
            for row, m in translation.items():
                kept = ", ".join(f"{c} {100 * v:.1f} %" for c, v in m["colour_kept_by_spec"].items())
                out.append(f"- **{row}**: RA {100 * m['RA']:.1f}, CRA-C {100 * m['CRA-C']:.1f}, CRA-NC "
                           f"{100 * m['CRA-NC']:.1f}, FD {m['FD']:.2f}, colour kept {kept}")  # fmt: skip
        for set_name, m in metrics.items():
            line = (
                f"- **{set_name}** ({m.get('plates')} plates): RA {100 * m['RA']:.1f}, CRA {100 * m['CRA']:.1f}, "
                f"CRA-C {100 * m['CRA-C']:.1f}, CRA-NC {100 * m['CRA-NC']:.1f}, top-3 {100 * m['top3']:.1f}"
            )
            if "RA_reading" in m:  # the text the reader returns (beam, doubtful plates read again), beside greedy RA
                line += f"; RA of the reading {100 * m['RA_reading']:.1f}"
            colours = m.get("by_colour") or {}
            if colours:
                line += "; by colour " + ", ".join(f"{c} {ok}/{n}" for c, (ok, n) in colours.items())
            if "kind_accuracy" in m:
                line += f"; kind head right on {100 * m['kind_accuracy']:.1f} %"
            specs = m.get("by_spec") or {}
            if specs:
                line += "; by plate spec " + ", ".join(f"{s} {ok}/{n}" for s, (ok, n) in specs.items())
            read = m.get("by_spec_reading") or {}
            if read:
                line += "; read " + ", ".join(f"{s} {ok}/{n}" for s, (ok, n) in read.items())
            out.append(line)
        out.append("")
    return "\n".join(out)


def write_docs(doc: str = "docs/zoo.md") -> None:
    """Refresh the zoo table between ``<!-- zoo-table -->`` markers in docs/zoo.md (and the details)."""
    from pathlib import Path

    table = zoo_markdown()
    for path in (Path(doc),):
        text = path.read_text(encoding="utf-8")
        start, end = text.index("<!-- zoo-table -->"), text.index("<!-- /zoo-table -->")
        text = text[: start + len("<!-- zoo-table -->")] + "\n" + table + "\n" + text[end:]
        if "<!-- zoo-details -->" in text:
            start, end = text.index("<!-- zoo-details -->"), text.index("<!-- /zoo-details -->")
            text = text[: start + len("<!-- zoo-details -->")] + "\n" + zoo_details() + "\n" + text[end:]
        path.write_text(text, encoding="utf-8")


def print_zoo(markdown: bool = False, write: bool = False) -> None:
    if write:
        write_docs()
    if markdown:
        print(zoo_markdown())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lprzoo zoo (RA in %; plates/s at batch 64 on one thread; lprzoo.load(name))")
    for column in COLUMNS:
        table.add_column(
            column,
            justify="right" if column not in ("name", "kind", "trained on") else "left",
            no_wrap=column == "name",
        )  # fmt: skip  (a name is what a user copies: never cut)
    for row in zoo_rows():
        table.add_row(*row)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a pipe or a log file: do not squeeze the columns
    console.print(table)


def zoo(markdown: bool = False, write_docs: bool = False) -> None:
    """List the zoo's entries with their metrics on real/val and target/dev, size and speed.

    Args:
        markdown: print a markdown table (as in docs/zoo.md) instead of a rich table.
        write_docs: refresh the zoo table in docs/zoo.md (maintainers).
    """
    print_zoo(markdown, write_docs)
