"""A stand-in background process for the run_with_metrics.py tests: ticks until SIGTERM."""

from __future__ import annotations

from prometheus_client import Counter

from shared.service_main import stop_on_signals

TICKS = Counter("deploy_test_ticks_total", "Loop rounds of the stand-in process")


def main() -> int:
    stop = stop_on_signals()
    print("ready", flush=True)
    while not stop.wait(0.05):
        TICKS.inc()
    print("stopped cleanly", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
