"""Container health check: GET http://127.0.0.1:$HEALTH_PORT$HEALTH_PATH must answer 200.

The web images check /healthz on their service port; a background process started through
run_with_metrics.py is checked on its metrics port (HEALTH_PORT=9100 HEALTH_PATH=/metrics).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("HEALTH_PORT", "8000")
    path = os.environ.get("HEALTH_PATH", "/healthz")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 - loopback only
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
