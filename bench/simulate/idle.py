"""The fixed cost of a running stack: start it as the month's simulation does (`Stack`), on a
shared clock that runs at the wall clock's pace, let it warm up, then read every process's CPU
seconds and the store's per-collection `top` over an idle window.

    python -m bench.simulate.idle [--seconds 120] [--warmup 30] [--out FILE]

Nothing is sent: what the stack spends here it spends every second of its life, whatever the
traffic (polling the broker and the store, leases, heartbeats)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench.simulate.machine import load_average
from bench.simulate.run import Stack, store_top
from shared.clock import ClockControl


def _delta_top(before: dict[str, dict[str, float]],
               after: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, kinds in after.items():
        was = before.get(name, {})
        diff = {k: round(v - was.get(k, 0.0), 3) for k, v in kinds.items()}
        if any(diff.values()):
            out[name] = diff
    return out


def measure(*, seconds: float, warmup: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="idle-") as tmp:
        workdir = Path(tmp)
        now = datetime.now(UTC)
        control = ClockControl(workdir / "clock", now)
        control.run(at=now, speed=1.0, until=now + timedelta(days=365))
        with (workdir / "stack.log").open("w") as log:
            stack = Stack(workdir / "stack", workdir / "clock", log=log)
            try:
                stack.start()
                client = MongoClient(stack.settings.mongo_uri, tz_aware=True)
                time.sleep(warmup)
                cpu0, top0 = stack.cpu_seconds(), store_top(client)
                started = time.monotonic()
                time.sleep(seconds)
                cpu1, top1 = stack.cpu_seconds(), store_top(client)
                wall = time.monotonic() - started
                crashed = stack.crashed()
                client.close()
            finally:
                stack.stop()
                control.close()
    cpu = {name: round(cpu1[name] - cpu0.get(name, 0.0), 2) for name in cpu1}
    return {"seconds": round(wall, 1), "cpu_seconds": cpu,
            "cpu_total": round(sum(cpu.values()), 2), "store_top": _delta_top(top0, top1),
            "crashed": crashed, "load_average": load_average()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate.idle", description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = measure(seconds=args.seconds, warmup=args.warmup)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 1 if result["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
