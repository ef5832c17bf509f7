"""Helpers for the services' command lines: gunicorn launch and signal-driven stop flags."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from shared.settings import Settings


def configure_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: loops check it, finish their batch and exit."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %d: stopping after this batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def exec_gunicorn(app_factory: str, *, port: int, settings: Settings) -> None:
    """Replace this process with gunicorn serving `module:create_app()`."""
    os.environ.setdefault("BIND", f"{settings.host}:{port}")
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:shared.web.gunicorn_conf",
            f"{app_factory}()"]
    os.execv(sys.executable, argv)
