"""The dispatcher's loop while it has nothing to send, on the real store: it waits on the
outbox's change stream instead of asking the store several times a second, yet a new row is
sent at once, a retry when it falls due and a paused channel when its pause ends.

The clock is the system's (the loop converts "due in N seconds" into a wait), and the longest
idle wait is long (30 s), so a row sent within a few seconds was woken for, not polled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from services.intake.notify import outbox
from services.intake.notify.dispatcher import Dispatcher
from shared.clock import system_clock
from shared.settings import NotifySettings
from tests.intake.notify_support import FakeGateway, running
from tests.intake.test_notify_delivery import dispatcher, file_reports

# no quiet hours (start = end): the clock is the system's, and an SMS filed between 21:00 and
# 07:00 in the city would rightly wait for the morning
IDLE = NotifySettings(retry_base_s=2.0, retry_max_s=2.0, batch_size=100, idle_s=0.2,
                      idle_max_s=30.0, quiet_start_hour=0, quiet_end_hour=0)


@contextmanager
def looping(d: Dispatcher) -> Iterator[threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=d.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(10)
        assert not thread.is_alive(), "the loop did not stop within 10 s of its stop flag"


def wait_for(predicate, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def outbox_reads(mongo, db) -> int:
    """The store's own count of finds and getMores on the notifications collection."""
    totals = mongo.admin.command("top")["totals"].get(f"{db.name}.{outbox.NOTIFICATIONS}", {})
    return sum(totals.get(kind, {}).get("count", 0) for kind in ("queries", "getmore"))


def test_idle_it_reads_the_outbox_about_once_a_second_and_sends_a_new_row_at_once(
        db, settings, mongo):
    outbox.ensure_indexes(db)  # the collection exists, so the store counts what reads it
    gateway = FakeGateway()
    with running(gateway):
        d = dispatcher(db, settings, system_clock, gateway, notify=IDLE)
        with looping(d):
            time.sleep(1.5)  # the loop has found nothing and waits
            before = outbox_reads(mongo, db)
            time.sleep(4.0)
            idle_reads = outbox_reads(mongo, db) - before
            file_reports(db, settings, system_clock, 1)
            took = wait_for(lambda: len(gateway.delivered) == 1, 10)
    # polling every idle_s (0.2 s) read it 20 times in 4 s; the doorbell's getMore waits 1 s
    assert idle_reads <= 8, idle_reads
    assert took is not None and took < 3.0, took


def test_a_retry_is_sent_when_it_falls_due_not_after_the_longest_idle_wait(db, settings):
    calls: list[float] = []

    def mode(body: dict) -> str:
        calls.append(time.monotonic())
        return "5xx" if len(calls) == 1 else "ok"

    gateway = FakeGateway(mode=mode)
    file_reports(db, settings, system_clock, 1)
    with running(gateway):
        d = dispatcher(db, settings, system_clock, gateway, notify=IDLE)
        with looping(d):
            took = wait_for(lambda: len(gateway.delivered) == 1, 20)
    assert took is not None, "the retry was not sent within 20 s (longest idle wait: 30 s)"
    row = db[outbox.NOTIFICATIONS].find_one()
    assert row["state"] == outbox.SENT and row["attempts"] == 2
    # backoff(1) with a 2 s base is 2 s; the wait may overrun by one doorbell getMore (1 s)
    assert 1.5 <= calls[1] - calls[0] < 5.0, calls


def test_a_paused_channel_is_tried_again_when_its_pause_ends(db, settings):
    gateway = FakeGateway(mode=lambda body: "5xx" if len(gateway.requests) <= 1 else "ok")
    file_reports(db, settings, system_clock, 3)
    with running(gateway):
        d = dispatcher(db, settings, system_clock, gateway, notify=IDLE)
        with looping(d):
            took = wait_for(lambda: len(gateway.delivered) == 3, 20)
    assert took is not None, f"{len(gateway.delivered)} of 3 sent within 20 s"
    assert db[outbox.NOTIFICATIONS].count_documents({"state": outbox.SENT}) == 3


@pytest.mark.parametrize("due_in_s, expected_s", [(None, 30.0), (-5.0, 0.2), (3.0, 3.0),
                                                   (600.0, 30.0)])
def test_the_idle_wait_runs_to_the_next_due_row_within_its_bounds(db, settings, clock,
                                                                  due_in_s, expected_s):
    d = Dispatcher(db=db, cipher=None, senders={}, clock=clock, settings=IDLE,  # type: ignore[arg-type]
                   public_base_url="http://1022.test", secret_key="k", timezone="UTC")
    if due_in_s is not None:
        db[outbox.NOTIFICATIONS].insert_one({"_id": "r", "state": outbox.PENDING,
                                             "due_at": clock() + timedelta(seconds=due_in_s)})
    assert d.idle_wait_s(clock()) == pytest.approx(expected_s, abs=0.01)


def test_a_due_row_of_a_paused_channel_waits_for_the_pause_not_idle_s(db, settings, clock):
    d = Dispatcher(db=db, cipher=None, senders={}, clock=clock, settings=IDLE,  # type: ignore[arg-type]
                   public_base_url="http://1022.test", secret_key="k", timezone="UTC")
    db[outbox.NOTIFICATIONS].insert_one({"_id": "r", "state": outbox.PENDING, "channel": "sms",
                                         "due_at": clock() - timedelta(seconds=1)})
    d.paused_until["sms"] = clock() + timedelta(seconds=7)
    assert d.idle_wait_s(clock()) == pytest.approx(7.0, abs=0.01)


def test_writes_elsewhere_do_not_make_the_idle_loop_ask_more_than_every_idle_s(
        db, settings, mongo):
    """The store ends a held getMore on a write to any collection: the doorbell still asks
    at most once per idle_s (0.2 s) while another collection is written all the time."""
    outbox.ensure_indexes(db)
    gateway = FakeGateway()
    with running(gateway):
        d = dispatcher(db, settings, system_clock, gateway, notify=IDLE)
        with looping(d):
            time.sleep(1.5)
            before = outbox_reads(mongo, db)
            until = time.monotonic() + 3.0
            while time.monotonic() < until:
                db["elsewhere"].insert_one({"at": time.monotonic()})
            busy_reads = outbox_reads(mongo, db) - before
    assert busy_reads <= 3.0 / IDLE.idle_s + 4, busy_reads
