"""Files of readings: one CSV / JSONL format for ``lprzoo predict`` and :meth:`lprzoo.reader.PlateReader.write`.

A row is ``file, text, confidence, char_confidences, topn``.  Readings below the operating point (the reject option,
:mod:`lprzoo.calibration`) go to a **review file** beside the output, ``<stem>.review<suffix>``, with their top-N
alternatives, so a person checks exactly the readings the reader is unsure of.  Rows are appended to
``<file>.partial`` and renamed into place when the run ends: a run that dies never leaves a half-written file.
File names that are not UTF-8 are written with their undecodable bytes as ``\\xNN``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from lprzoo.folders import printable

COLUMNS = ("file", "text", "confidence", "char_confidences", "topn")
Format = Literal["auto", "csv", "jsonl"]


def review_path(output: Path) -> Path:
    """Where the readings that were not accepted go: ``predictions.csv`` -> ``predictions.review.csv``."""
    return output.with_name(f"{output.stem}.review{output.suffix}")


class ReadingsFile:
    """Appends rows of readings to ``<path>.partial``; :meth:`commit` renames it to ``path``.

    Args:
        path: a ``.csv`` or ``.jsonl`` file.
        format: ``auto`` picks by the extension.
    """

    def __init__(self, path: Path, format: Format = "auto") -> None:
        self.path = Path(path)
        self.format = format if format != "auto" else ("jsonl" if self.path.suffix in (".jsonl", ".json") else "csv")
        self.partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")  # one per writer
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.partial.open("w", encoding="utf-8", newline="") as f:
            if self.format == "csv":
                csv.writer(f).writerow(COLUMNS)

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        with self.partial.open("a", encoding="utf-8", newline="") as f:
            if self.format == "jsonl":
                for row in rows:
                    f.write(json.dumps({**row, "file": printable(row["file"])}, ensure_ascii=False) + "\n")
            else:
                writer = csv.writer(f)
                for row in rows:
                    topn = ";".join(f"{t}:{p}" for t, p in row["topn"])
                    chars = ";".join(str(c) for c in row["char_confidences"])
                    writer.writerow([printable(row["file"]), row["text"], row["confidence"], chars, topn])
        self.rows += len(rows)

    def commit(self) -> Path:
        os.replace(self.partial, self.path)
        return self.path


def reading_row(file: str, text: str, confidence: float, chars: Iterable[float], topn) -> dict[str, Any]:
    """One row, rounded as it is written."""
    return {
        "file": file,
        "text": text,
        "confidence": round(confidence, 5),
        "char_confidences": [round(c, 4) for c in chars],
        "topn": [[t, round(p, 5)] for t, p in topn],
    }
