"""The shared retry policy: backoff capped, one log line per outage (not per round), the
state in a metric."""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY
from pymongo.errors import ServerSelectionTimeoutError

from shared.retry import Backoff, CircuitBreaker, Outage


def up(loop: str) -> float | None:
    return REGISTRY.get_sample_value("loop_dependency_up", {"loop": loop})


def test_backoff_doubles_to_its_cap_and_resets():
    backoff = Backoff(first=0.5, cap=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_an_outage_is_logged_once_and_shown_in_the_metric(caplog):
    caplog.set_level(logging.WARNING)
    now = [100.0]
    outage = Outage("test-loop", monotonic=lambda: now[0])
    assert up("test-loop") == 1
    delays = [outage.failed(ServerSelectionTimeoutError("down")) for _ in range(50)]
    assert delays[0] < delays[-1] <= 5.0
    assert up("test-loop") == 0 and outage.down
    now[0] = 130.0
    outage.recovered()
    outage.recovered()
    assert up("test-loop") == 1 and not outage.down
    lines = [r.getMessage() for r in caplog.records if "test-loop" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "unavailable" in lines[0] and "after 30.0s and 50 failed rounds" in lines[1]
    assert outage.failed(ServerSelectionTimeoutError("again")) == 0.2


def test_breaker_fails_fast_then_lets_one_probe_through():
    now = [0.0]
    breaker = CircuitBreaker(open_s=1.0, probe_s=5.0, monotonic=lambda: now[0])
    assert breaker.allow() and breaker.allow()
    breaker.failed()
    assert not breaker.allow()
    now[0] = 1.5
    assert breaker.allow(), "one probe once the breaker has been open a while"
    assert not breaker.allow(), "only one probe at a time"
    now[0] = 7.0
    assert breaker.allow(), "a probe that never reported does not keep the breaker open"
    breaker.succeeded()
    assert breaker.allow() and breaker.allow() and breaker.closed
