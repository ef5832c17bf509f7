"""What a web worker does when it is told to stop. Long responses (the tracker's live pages)
register a callback that ends them at once; without it, gunicorn would wait its whole
graceful timeout for streams that never end by themselves. gunicorn's worker calls
`stopping()` from its SIGTERM/SIGQUIT/SIGINT handlers (gunicorn_conf.post_worker_init)."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)
_callbacks: list[Callable[[], Callable[[], None] | None]] = []
_lock = threading.Lock()


def on_stop(callback: Callable[[], None]) -> None:
    """A bound method is held weakly: an app built and dropped (tests) is not kept alive."""
    ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") \
        else (lambda: callback)
    with _lock:
        _callbacks[:] = [r for r in _callbacks if r() is not None]
        _callbacks.append(ref)  # type: ignore[arg-type]


def stopping() -> None:
    with _lock:
        callbacks = [c for c in (r() for r in _callbacks) if c is not None]
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - one failing callback must not keep the others
            log.exception("stop callback failed")
