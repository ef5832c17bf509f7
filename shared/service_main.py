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


def gunicorn_argv(app_factory: str, *, long_lived: int = 0) -> list[str]:
    """`long_lived`: threads per worker added to GUNICORN_THREADS for responses that stay
    open (the tracker's live pages), so they never take the ordinary requests' threads."""
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:shared.web.gunicorn_conf"]
    if long_lived:
        threads = int(os.environ.get("GUNICORN_THREADS") or "8") + long_lived
        argv += ["--threads", str(threads)]
    return [*argv, f"{app_factory}()"]


def exec_gunicorn(app_factory: str, *, port: int, settings: Settings,
                  long_lived: int = 0) -> None:
    """Replace this process with gunicorn serving `module:create_app()`."""
    os.environ.setdefault("BIND", f"{settings.host}:{port}")
    os.execv(sys.executable, gunicorn_argv(app_factory, long_lived=long_lived))
