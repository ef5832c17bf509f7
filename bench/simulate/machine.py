"""What the run cost and what share of the machine it had: CPU seconds per process of the
stack (each with the processes it started, e.g. gunicorn's workers) read from /proc, and the
load average. Linux only; elsewhere the figures are left out (None / empty)."""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _own_cpu_s(pid: int) -> float:
    # utime and stime are fields 14 and 15 of /proc/PID/stat, after the command in brackets
    fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        text = (PROC / str(pid) / "task" / str(pid) / "children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_cpu_s(pid: int) -> float | None:
    """CPU seconds of a process and of its living descendants; None if it cannot be read."""
    try:
        total = _own_cpu_s(pid)
    except (OSError, IndexError, ValueError):
        return None
    for child in _children(pid):
        total += tree_cpu_s(child) or 0.0
    return total


def load_average() -> float | None:
    """The machine's 1-minute load average."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def cores() -> int:
    return os.cpu_count() or 1
