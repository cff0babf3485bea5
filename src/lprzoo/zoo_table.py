"""``lprzoo zoo``: the zoo's entries as a table (metrics on named sets, size, speed), from ``zoo/*.yaml``."""

from __future__ import annotations

from typing import Any

from lprzoo.hub import zoo_records

COLUMNS = ("name", "kind", "trained on", "real/val RA", "target/dev RA", "render-31 RA", "params", "MB", "plates/s")


def _pct(metrics: dict[str, Any], dataset: str) -> str:
    value = (metrics.get(dataset) or {}).get("RA")
    return "–" if value is None else f"{100 * float(value):.1f}"


def zoo_rows() -> list[list[str]]:
    rows = []
    for name, record in sorted(zoo_records().items()):
        extra = record.extra
        metrics = extra.get("metrics") or {}
        speed = extra.get("speed") or {}
        rows.append(
            [
                name,
                record.kind,
                str((extra.get("data") or {}).get("summary", "")),
                _pct(metrics, "real/val"),
                _pct(metrics, "target/dev"),
                _pct(metrics, "render-31"),
                f"{extra.get('num_params', 0) / 1e6:.2f} M" if extra.get("num_params") else "–",
                f"{extra.get('file_size', 0) / 2**20:.1f}" if extra.get("file_size") else "–",
                str(speed.get("plates_per_s", "–")),
            ]
        )
    return rows


def zoo_markdown() -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in zoo_rows()]
    return "\n".join(lines)


def print_zoo(markdown: bool = False) -> None:
    if markdown:
        print(zoo_markdown())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="lprzoo zoo (RA in %; lprzoo.load(name))")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column not in ("name", "kind", "trained on") else "left")
    for row in zoo_rows():
        table.add_row(*row)
    Console().print(table)
