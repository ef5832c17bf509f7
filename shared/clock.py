"""The clock is injected: logic takes a `Clock` and never calls `datetime.now()` itself."""

from __future__ import annotations

import mmap
import os
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, replays, benchmarks)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


# A clock shared by every process of a stack, steered by one of them (the month's simulation):
# a 40-byte file of five little-endian doubles (sequence, anchor wall time, anchor simulated
# time, speed, limit), read through mmap. Simulated time is
#     min(anchor_sim + (wall - anchor_wall) * speed, limit)
# so the steering process can run time fast, slow it down, or stop it at a limit while the
# services catch up. The sequence is odd while a writer is changing the file.
_SHARED = struct.Struct("<5d")


class SharedClock:
    """Simulated time read from a clock file (see above); opened lazily, once per process, so
    it is safe across gunicorn's fork."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._map: mmap.mmap | None = None
        self._pid = 0

    def _mapped(self) -> mmap.mmap:
        if self._map is None or self._pid != os.getpid():
            with self.path.open("rb") as fh:
                self._map = mmap.mmap(fh.fileno(), _SHARED.size, access=mmap.ACCESS_READ)
            self._pid = os.getpid()
        return self._map

    def __call__(self) -> datetime:
        mapped = self._mapped()
        while True:
            seq, wall0, sim0, speed, limit = _SHARED.unpack_from(mapped, 0)
            if int(seq) % 2 == 0 and _SHARED.unpack_from(mapped, 0)[0] == seq:
                break
        sim = min(sim0 + (time.time() - wall0) * speed, limit)
        return datetime.fromtimestamp(sim, UTC)


class ClockControl:
    """The steering side of a SharedClock file."""

    def __init__(self, path: Path, start: datetime) -> None:
        self.path = Path(path)
        self.path.write_bytes(_SHARED.pack(0, time.time(), start.timestamp(), 0.0,
                                           start.timestamp()))
        self._fh = self.path.open("r+b")
        self._map = mmap.mmap(self._fh.fileno(), _SHARED.size)
        self._seq = 0
        self.clock = SharedClock(self.path)

    def run(self, *, at: datetime, speed: float, until: datetime) -> None:
        """From now on, time starts at `at` and runs `speed` times faster than the wall clock,
        stopping at `until`."""
        self._seq += 1  # odd: readers wait
        struct.pack_into("<d", self._map, 0, self._seq)
        _SHARED.pack_into(self._map, 0, self._seq, time.time(), at.timestamp(), speed,
                          until.timestamp())
        self._seq += 1
        struct.pack_into("<d", self._map, 0, self._seq)

    def close(self) -> None:
        self._map.close()
        self._fh.close()


def clock_from(clock_file: Path | None) -> Clock:
    """The clock the settings ask for: the system's, or a shared simulated one."""
    return SharedClock(clock_file) if clock_file else system_clock
