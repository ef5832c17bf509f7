"""The shared consumer loop on the real embedded broker and store: outputs produced and writes
applied before the commit, every message it cannot process on the dead-letter topic with the
reason, a retryable error makes the batch be read again, SIGTERM finishes and commits."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime
from functools import partial

from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect

from shared.consumer import Batch, Consumer, ConsumerSpec, Output
from shared.events import ReportSubmittedV1, TicketCorrectedV1, encode_event
from shared.kafka import Outgoing
from shared.service_main import stop_on_signals
from tests.consumer.conftest import raw
from tests.helpers import running, wait_until


def echo(lane, batch: Batch) -> list[Output[ReportSubmittedV1]]:
    """Produces `seen:<report id>`, stores the event; rejects what says REJECT."""
    outputs = []
    for message in batch.messages:
        event = message.event
        if "REJECT" in event.description:
            outputs.append(Output.rejected("the handler said no"))
            continue
        outputs.append(Output(produce=(Outgoing(lane.output, message.key,
                                                f"seen:{event.report_id}".encode()),),
                              write=event))
    return outputs


def store(db, events: list[ReportSubmittedV1], now) -> None:
    for event in events:
        if "UNSTORABLE" in event.description:
            raise ValueError("the store refuses this one")
    for event in events:
        db["writes"].update_one({"_id": event.report_id},
                                {"$set": {"text": event.description, "at": now}}, upsert=True)


def spec_for(lane, db, **overrides) -> ConsumerSpec:
    fields = {"name": "test-loop", "group_id": f"g-{lane.source}",
              "reads": {lane.source: (ReportSubmittedV1,)},
              "handler": partial(echo, lane), "apply": partial(store, db)}
    return ConsumerSpec(**{**fields, **overrides})


def dead_count(kind: str) -> float:
    return REGISTRY.get_sample_value("consumer_dead_letters_total",
                                     {"consumer": "test-loop", "kind": kind}) or 0.0


def test_outputs_writes_and_dead_letters_then_the_whole_batch_is_committed(settings, db, lane):
    correction = TicketCorrectedV1(event_id="x", occurred_at=datetime.now(UTC), report_id="r",
                                   text="t", old_category="noise", new_category="traffic")
    before = {k: dead_count(k) for k in ("undecodable", "unexpected", "rejected", "failed")}
    good = [raw(f"Đèn đường hẻm {i} tắt") for i in range(3)]
    lane.send(good[0], b"\x00not json", good[1], encode_event(correction),
              raw("REJECT me"), raw("UNSTORABLE text"), good[2])
    spec = spec_for(lane, db)
    with running(Consumer(spec, settings=settings).run):
        assert wait_until(lambda: lane.committed_everything(spec.group_id), 60, 0.3)
    outputs = lane.read(lane.output, 3)
    assert sorted(r.value for r in outputs) == sorted(
        b"seen:" + ReportSubmittedV1.model_validate_json(v).report_id.encode() for v in good)
    assert db["writes"].count_documents({}) == 3
    dead = lane.read(lane.dead, 4)
    reasons = sorted(dict(r.headers)["error"].decode().split(":")[0] for r in dead)
    assert reasons == ["cannot be applied", "not JSON", "the handler said no",
                       f"unexpected ticket.corrected on {lane.source}"]
    assert all(dict(r.headers)["group"] == spec.group_id.encode() for r in dead)
    assert all(dict(r.headers)["source"].startswith(lane.source.encode()) for r in dead)
    assert b"\x00not json" in {r.value for r in dead}, "a dead letter is the message unchanged"
    assert {k: dead_count(k) - before[k] for k in before} == {
        "undecodable": 1, "unexpected": 1, "rejected": 1, "failed": 1}


def test_a_store_outage_rewinds_and_the_batch_is_applied_again(settings, db, lane):
    failures: list[int] = []

    def flaky(events, now):
        if not failures:
            failures.append(1)
            raise AutoReconnect("store restarting")
        store(db, events, now)

    lane.send(raw("Cống nghẹt bốc mùi"))
    spec = spec_for(lane, db, apply=flaky)
    with running(Consumer(spec, settings=settings).run):
        assert wait_until(lambda: lane.committed_everything(spec.group_id), 60, 0.3)
    assert failures == [1] and db["writes"].count_documents({}) == 1
    assert len(lane.read(lane.output, 1)) == 1


def test_offsets_are_committed_only_after_the_outputs_are_acknowledged(settings, db, lane):
    """The first send is refused (a message over the producer's size limit): nothing is
    committed, the batch is read again from the same offset, and goes through."""
    handled: list[int] = []

    def handler(batch: Batch) -> list[Output]:
        handled.extend(m.offset for m in batch.messages)
        size = 2_000_000 if len(handled) == 1 else 10
        return [Output(produce=(Outgoing(lane.output, m.key, b"x" * size),))
                for m in batch.messages]

    lane.send(raw("Nước ngập"))
    spec = spec_for(lane, db, handler=handler, apply=None)
    with running(Consumer(spec, settings=settings).run):
        assert wait_until(lambda: lane.committed_everything(spec.group_id), 60, 0.3)
    assert handled == [0, 0], handled
    assert [r.value for r in lane.read(lane.output, 1)] == [b"x" * 10]


def test_sigterm_finishes_the_batch_commits_and_exits(settings, db, lane):
    handled: list[int] = []

    def handler(batch: Batch) -> list[Output]:
        handled.extend(m.offset for m in batch.messages)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the batch is in hand
        return echo(lane, batch)

    lane.send(*(raw(f"Rác ùn ứ {i}") for i in range(4)))
    spec = spec_for(lane, db, handler=handler)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop = stop_on_signals()
        timer = threading.Timer(60, stop.set)  # a safety net, not the test
        timer.start()
        Consumer(spec, settings=settings).run(stop)  # returns: the signal stopped it
        timer.cancel()
    finally:
        for sig, handler_ in previous.items():
            signal.signal(sig, handler_)
    assert stop.is_set() and handled
    assert db["writes"].count_documents({}) == len(handled)
    # what it handled it committed: a new consumer of the group starts after it
    follower = Consumer(spec_for(lane, db, handler=partial(echo, lane)), settings=settings)
    with running(follower.run):
        assert wait_until(lambda: lane.committed_everything(spec.group_id), 60, 0.3)
    assert db["writes"].count_documents({}) == 4
    assert len(lane.read(lane.output, 5, timeout=5)) == 4, "nothing handled twice"
