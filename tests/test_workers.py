"""Workers die with their parent: a ``kill -9`` of ``lprzoo render`` leaves no process of the run alive."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lprzoo.workers import die_with_parent

LPRZOO = [sys.executable, "-m", "lprzoo.cli"]
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def _descendants(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie has ended; only its exit status is left


@linux_only
def test_main_process_is_left_alone():
    """In a process multiprocessing did not start, the parent-death signal stays off (the shell may exit)."""
    die_with_parent()
    libc = ctypes.CDLL(None, use_errno=True)
    sig = ctypes.c_int(-1)
    assert libc.prctl(2, ctypes.byref(sig), 0, 0, 0) == 0  # PR_GET_PDEATHSIG
    assert sig.value == 0


@linux_only
def test_kill_9_of_render_leaves_no_worker_alive(tmp_path):
    out = tmp_path / "plates"
    args = ["render", "--spec", "blue", "--n", "50000", "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen([*LPRZOO, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and len(list(out.glob("*.jpg"))) < 20:
            time.sleep(0.2)
        assert proc.poll() is None, "render ended before it could be killed"
        workers = _descendants(proc.pid)
        assert len(workers) >= 2, workers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 5
        while time.time() < deadline and any(map(_alive, workers)):
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "render workers outlived their killed parent"
        written = len(list(out.glob("*.jpg")))
        time.sleep(0.5)
        assert len(list(out.glob("*.jpg"))) == written  # nobody writes any more
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in workers:  # so that a failing run leaves no orphans either
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
