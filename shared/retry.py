"""The one retry policy of every long-running loop (consumers, relay, publisher, monitor):
on a transient store or broker error, back off exponentially (capped), log once when an
outage starts and once when it ends (never per message), and show the state in a metric.

    outage = Outage("intake-projector")
    while not stop.is_set():
        try:
            work()
        except TRANSIENT as exc:
            stop.wait(outage.failed(exc))
            continue
        outage.recovered()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)

# Errors a loop waits out: the store or the broker unreachable, slow or restarting.
TRANSIENT: tuple[type[BaseException], ...] = (PyMongoError, KafkaError, OSError, TimeoutError)

DEPENDENCY_UP = Gauge("loop_dependency_up",
                      "1 while the loop's last round reached the store and broker, 0 during "
                      "an outage", ["loop"], multiprocess_mode="liveall")
ROUND_FAILURES = Counter("loop_failed_rounds_total",
                         "Rounds that failed on a transient error and were retried",
                         ["loop", "reason"])
OUTAGES = Counter("loop_outages_total", "Outages a loop waited out", ["loop"])


class Backoff:
    """Exponential delays: first, 2*first, ... capped at `cap`."""

    def __init__(self, first: float = 0.2, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class Outage:
    """The health of one loop's dependencies; `failed` returns how long to wait."""

    def __init__(self, loop: str, *, logger: logging.Logger | None = None,
                 backoff: Backoff | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.loop = loop
        self.log = logger or log
        self.backoff = backoff or Backoff()
        self.monotonic = monotonic
        self.since: float | None = None
        self.failures = 0
        DEPENDENCY_UP.labels(loop).set(1)

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        reason = type(exc).__name__
        ROUND_FAILURES.labels(self.loop, reason).inc()
        self.failures += 1
        if self.since is None:
            self.since = self.monotonic()
            OUTAGES.labels(self.loop).inc()
            DEPENDENCY_UP.labels(self.loop).set(0)
            self.log.warning("%s: store or broker unavailable (%s: %s); retrying with backoff "
                             "until it is back", self.loop, reason, exc)
        return self.backoff.next()

    def recovered(self) -> None:
        if self.since is not None:
            self.log.warning("%s: store and broker reachable again after %.1fs and %d failed "
                             "rounds; resuming", self.loop, self.monotonic() - self.since,
                             self.failures)
            DEPENDENCY_UP.labels(self.loop).set(1)
        self.since = None
        self.failures = 0
        self.backoff.reset()


class CircuitBreaker:
    """Fails fast while a dependency is known to be down, so that request threads are not
    all held for the full timeout by an outage: after a failure, `allow` refuses for
    `open_s`; then one caller at a time probes (for at most `probe_s`, in case it never
    reports), and a success closes the breaker."""

    def __init__(self, open_s: float = 1.0, probe_s: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.open_s = open_s
        self.probe_s = probe_s
        self.monotonic = monotonic
        self._open_until: float | None = None
        self._probe_until = 0.0
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._open_until is None

    def allow(self) -> bool:
        with self._lock:
            if self._open_until is None:
                return True
            now = self.monotonic()
            if now < self._open_until or now < self._probe_until:
                return False
            self._probe_until = now + self.probe_s
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._open_until = None
            self._probe_until = 0.0

    def failed(self) -> None:
        with self._lock:
            self._open_until = self.monotonic() + self.open_s
            self._probe_until = 0.0
