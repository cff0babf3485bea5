"""The README's commands, run as a new user runs them, in a scratch copy of the project: they leave files only
under ``runs/`` (or the outputs they name) and print no warning.

Each ``lprzoo fit | test | predict`` command is taken from the README as written and shrunk to a couple of steps
(appended overrides), so the test checks the commands themselves, not their training budget.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
SHRINK = {
    "fit": ["--trainer.max_steps", "2", "--trainer.limit_val_batches", "1", "--trainer.enable_progress_bar", "false"],
    "test": ["--trainer.limit_test_batches", "1", "--trainer.enable_progress_bar", "false"],
    "predict": ["--trainer.enable_progress_bar", "false"],
}
WARNING = re.compile(r"Warning|WARNING|warn\(", re.IGNORECASE)


def readme_commands() -> list[list[str]]:
    """Every ``lprzoo ...`` line of the README's bash blocks, with continuation lines joined, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("lprzoo "):
                commands.append(shlex.split(line))
            elif "&& lprzoo " in line:  # the set-up line: its last command
                commands.append(shlex.split(line.rsplit("&& ", 1)[1]))
    return commands


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.skipif(not (SHARED_DATA / "real" / "train").is_dir(), reason="../shared/data is absent")
def test_readme_commands_write_only_under_runs_and_print_no_warning(tmp_path):
    scratch = tmp_path / "project"
    scratch.mkdir()
    for name in ("README.md", "recipes"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, scratch / name)
    (tmp_path / "shared").symlink_to(SHARED_DATA.parent)  # ../shared/data, as beside a checkout
    photos = scratch / "my_photos"
    photos.mkdir()
    for path in sorted((SHARED_DATA / "target" / "dev").glob("*.jpg"))[:3]:
        shutil.copy(path, photos / path.name)
    before = _files(scratch)
    chosen, seen = [], set()
    for c in readme_commands():  # each verb x recipe once: the overrides are Lightning's, tested elsewhere
        key = (c[1], c[c.index("--config") + 1] if "--config" in c else "")
        if c[1] in SHRINK and key not in seen and "--print_config" not in c and "last" not in c[2:]:
            chosen.append(c)
            seen.add(key)
    verbs = [c[1] for c in chosen]
    assert {"fit", "test", "predict"} <= set(verbs) and "recipes/quickstart.yaml" in sum(chosen, [])
    chosen.sort(key=lambda c: ("test", "predict").index(c[1]) + 1 if c[1] != "fit" else 0)  # a checkpoint first
    for command in chosen + [["lprzoo", "--help"], ["lprzoo", "zoo"]]:
        args = command[1:] + SHRINK.get(command[1], [])
        proc = subprocess.run([sys.executable, "-m", "lprzoo.cli", *args], cwd=scratch, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 0, (command, proc.stderr[-3000:])
        warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if WARNING.search(line)]
        assert not warnings, (command, warnings)
    new = _files(scratch) - before
    outside = sorted(f for f in new if not f.startswith("runs/"))
    assert not outside, outside
