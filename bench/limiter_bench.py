"""What the shared rate limiter costs intake, measured side by side in one run.

One embedded store and broker; three intakes under gunicorn (2 workers each) on the same
store, differing only in the limiter: off (RATE_LIMIT_PER_MINUTE=0), every hit written to the
store (RATE_LIMIT_EXACT=true) and the default (up to limit/20 hits of a client far below its
limit counted in each worker's memory, then written in one $inc). Rounds alternate between
them; each side is driven by BENCH_CLIENTS concurrent clients for BENCH_SECONDS. Two traffic
shapes: every request from one address (the worst case for a per-hit limiter: one hot
document), and every request from a new address (X-Forwarded-For behind PROXY_HOPS=1: every
citizen is new to the limiter).
Prints reports/s per side and the ratio limiter on / off (target >= 0.8).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

from bench.http_load import KeepAliveClient, build_request
from bench.intake_bench import BODY, RATE_LIMIT_OUT_OF_REACH, run_threads, start
from shared.devstack import EmbeddedStack, free_port, wait_for_port

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
SIDES = {"off": {"RATE_LIMIT_PER_MINUTE": "0"},
         "every hit written": {"RATE_LIMIT_EXACT": "true"},
         "up to 5% in memory": {"RATE_LIMIT_EXACT": "false"}}
_addresses = itertools.count(1)


def poster(port: int, *, new_address: bool):
    def post(state: dict) -> None:
        client = state.get("client")
        if client is None:
            client = state["client"] = KeepAliveClient("127.0.0.1", port, b"")
        head = ""
        if new_address:
            n = next(_addresses)
            head = f"X-Forwarded-For: 10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}\r\n"
        request = build_request("POST", "/api/v1/reports", host=f"127.0.0.1:{port}", body=BODY)
        client._request = request.replace(b"\r\n", ("\r\n" + head).encode(), 1)
        status = client.call()
        if status != 201:
            raise RuntimeError(f"intake answered {status}")
    return post


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    workdir = Path(tempfile.mkdtemp(prefix="bench-limiter-"))
    rates: dict[tuple[str, str], list[float]] = {}
    with EmbeddedStack(workdir) as stack:
        ports, procs = {}, []
        for i, (side, extra) in enumerate(SIDES.items()):
            ports[side] = free_port()
            env = {**os.environ, **stack.env(), "INTAKE_PORT": str(ports[side]),
                   "MONGO_DB": "bench", "WEB_CONCURRENCY": "2", "PROXY_HOPS": "1",
                   "RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_OUT_OF_REACH),
                   "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"prom{i}"),
                   "LOG_LEVEL": "warning", "RELAY_GRACE_SECONDS": "3600", **extra}
            (workdir / f"prom{i}").mkdir()
            side_dir = workdir / f"side{i}"
            side_dir.mkdir()
            procs.append(start("serve", env, side_dir))
        try:
            for port in ports.values():
                wait_for_port("127.0.0.1", port, 30)
                run_threads(2, 1, poster(port, new_address=False))  # warm-up
            for _ in range(rounds):
                for shape in ("one address", "new address each"):
                    for side, port in ports.items():
                        n, _ = run_threads(CLIENTS, SECONDS,
                                           poster(port, new_address=shape != "one address"))
                        rates.setdefault((shape, side), []).append(n / SECONDS)
                        time.sleep(0.5)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
    print(f"\nlimiter benchmark: {rounds} rounds alternating the sides, {CLIENTS} clients, "
          f"{SECONDS:.0f} s per side and shape")
    print("| traffic | limiter | reports/s (each round) | mean | ratio on/off |")
    print("|---|---|---|---:|---:|")
    for shape in ("one address", "new address each"):
        off = sum(rates[(shape, "off")]) / rounds
        for side in SIDES:
            values = rates[(shape, side)]
            mean = sum(values) / rounds
            print(f"| {shape} | {side} | {', '.join(f'{v:.0f}' for v in values)} | "
                  f"{mean:.0f} | {mean / off:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
