"""CPU time spent by processes, from /proc (Linux): where a benchmark's time goes."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The process and all its living children, grandchildren included."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User plus system CPU of the process (and, with `tree`, its living descendants)."""
    total = 0
    for p in descendants(pid) if tree else [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


class CpuMeter:
    """CPU seconds per named process tree between `start()` and `stop()`, summed over rounds."""

    def __init__(self, trees: dict[str, int], single: dict[str, int] | None = None) -> None:
        self._pids = {**{n: (p, True) for n, p in trees.items()},
                      **{n: (p, False) for n, p in (single or {}).items()}}
        self.used = dict.fromkeys(self._pids, 0.0)
        self._mark: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {name: cpu_seconds(pid, tree=tree) for name, (pid, tree) in self._pids.items()}

    def start(self) -> None:
        self._mark = self._now()

    def stop(self) -> None:
        for name, value in self._now().items():
            self.used[name] += value - self._mark[name]
