"""Run a background process of a service with its Prometheus metrics on METRICS_PORT.

    python /app/deploy/docker/run_with_metrics.py services.intake relay

intake's relay and projector have no HTTP server and no metrics port of their own (the
classifier's and tracker's background processes serve WORKER_METRICS_PORT themselves). Under
`make run` their samples reach intake's /metrics through a shared multiprocess folder; in a
container or pod of their own they need their own endpoint, so this starts
prometheus_client's exporter in a thread and then runs `python -m MODULE ARGS...` in the same
process (same signal handling: SIGTERM still reaches the service's own handler).
"""

from __future__ import annotations

import os
import runpy
import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    # the samples live in this process's registry, not in gunicorn's multiprocess files
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from prometheus_client import start_http_server

    port = int(os.environ.get("METRICS_PORT", "9100"))
    start_http_server(port, addr=os.environ.get("METRICS_HOST", "0.0.0.0"))  # noqa: S104
    sys.argv = [argv[0], *argv[1:]]
    try:
        runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
