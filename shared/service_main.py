"""Helpers for the services' command lines: gunicorn launch and signal-driven stop flags."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from shared.settings import Settings, SettingsError


def configure_logging() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def load_settings(service: str) -> Settings:
    """The service's settings, or exit 2 with one line naming the setting at fault (an operator
    reading a pod's log needs the setting, not a traceback)."""
    try:
        return Settings.from_env(service=service)
    except SettingsError as error:
        print(f"{service}: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


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
