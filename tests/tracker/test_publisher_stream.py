"""The tracker's publisher tails the tickets' change stream (no outbox write per ticket
change) and still sends every committed history entry at least once: across a crash between
the broker's acknowledgement and the save of the resume point, a lost resume point, a restart
that resumes the stream, and a broker that lost its topics. What counts as sent is what the
real broker acknowledged (the publisher's own `send_and_wait`, recorded)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.tracker.publisher import LEASE_ID, Publisher
from services.tracker.store import LEASES, TICKETS, init_db
from services.tracker.tickets import service
from shared import outbox, stream_outbox
from shared.events import decode_event
from shared.settings import Settings
from shared.topics import TICKETS_CORRECTIONS, TICKETS_STATUS
from tests.helpers import collect, create_from_classified, running
from tests.tracker.conftest import classified

SYSTEM = service.SYSTEM


class Crash(Exception):
    """The publisher's process dies here."""


class Acks(Counter):
    """Event ids of the ticket topics (status and corrections), counted each time the broker
    acknowledged them; `crash` makes the next send die before or after the acknowledgement."""
    crash: str | None = None


@pytest.fixture
def acked(monkeypatch) -> Acks:
    seen = Acks()
    real = outbox.send_and_wait

    def recording(producer, messages) -> None:
        crash, seen.crash = seen.crash, None
        if crash == "before":
            raise Crash()
        real(producer, messages)
        seen.update(decode_event(m.value).event_id for m in messages
                    if m.topic in (TICKETS_STATUS, TICKETS_CORRECTIONS))
        if crash == "after":
            raise Crash()
    monkeypatch.setattr(outbox, "send_and_wait", recording)
    return seen


def expected(db) -> set[str]:
    """Every committed history entry, as its event ids."""
    return {event_id for t in db[TICKETS].find() for e in t["history"]
            for event_id in (f"{t['_id']}:{e['seq']}",
                             *([f"{t['_id']}:{e['seq']}:corrected"] if e.get("correction")
                               else []))}


def start(settings, db, clock) -> Publisher:
    """A publisher as `run` brings it up: the lease, then the producer and the stream."""
    publisher = Publisher(settings=settings, db=db, clock=clock)
    assert publisher.lease.acquire()
    publisher.connect()
    return publisher


def drain(publisher: Publisher) -> None:
    while publisher.publish_once()[0]:
        pass


def stop(publisher: Publisher) -> None:
    """A clean stop, as `run` ends: what was acknowledged is saved, then the lease released."""
    publisher.flush()
    publisher.disconnect()
    publisher.lease.release()


def crash(publisher: Publisher, db, clock) -> None:
    """Gone without a word: nothing saved, the lease runs out by itself."""
    publisher.disconnect()
    db[LEASES].update_one({"_id": LEASE_ID},
                          {"$set": {"lease_until": clock() - timedelta(seconds=1)}})


def new_ticket(db, config, clock) -> dict:
    return create_from_classified(db=db, config=config, event=classified(at=clock()),
                                  now=clock())[0]


def note(db, config, clock, ticket_id: str) -> None:
    service.add_note(db=db, config=config, principal=SYSTEM, ticket_id=ticket_id,
                     note="đã kiểm tra", public=True, now=clock())


def reroute(db, config, clock, ticket_id: str) -> None:
    """Two entries in one change (rejected, then assigned elsewhere) and a correction."""
    ticket = db[TICKETS].find_one({"_id": ticket_id})
    category = "flooding" if ticket["category"] != "flooding" else "traffic"
    service.reroute(db=db, config=config, principal=SYSTEM, ticket_id=ticket_id,
                    category=category, department=None, note="nhầm sở", now=clock())


def test_a_ticket_change_writes_the_ticket_once_and_no_outbox_flag(tdb, config, clock,
                                                                   make_ticket):
    ticket = make_ticket()
    note(tdb, config, clock, ticket["_id"])
    stored = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    assert "unpublished" not in stored and "published_seq" not in stored
    assert "unpublished_1" not in tdb[TICKETS].index_information()


def test_a_crash_between_the_acknowledgement_and_the_save_publishes_again(
        tdb, settings, config, clock, acked):
    first = start(settings, tdb, clock)  # a first start: nothing to recover, the stream opens
    tickets = [new_ticket(tdb, config, clock) for _ in range(3)]
    note(tdb, config, clock, tickets[0]["_id"])
    acked.crash = "after"
    with pytest.raises(Crash):
        first.publish_once()
    assert set(acked) == expected(tdb)  # the broker had them, the resume point did not move
    crash(first, tdb, clock)
    second = start(settings, tdb, clock)
    drain(second)
    assert all(acked[event_id] == 2 for event_id in expected(tdb)), acked


def test_a_lost_resume_point_republishes_what_changed_since_the_last_acknowledgement(
        tdb, settings, config, clock, acked):
    old = new_ticket(tdb, config, clock)
    clock.advance(hours=2)
    first = start(settings, tdb, clock)  # first start: every stored ticket
    changed = new_ticket(tdb, config, clock)
    drain(first)
    stop(first)
    assert set(acked) == expected(tdb)
    clock.advance(minutes=3)
    note(tdb, config, clock, changed["_id"])  # while no publisher runs
    late = new_ticket(tdb, config, clock)
    # written a moment before the last acknowledged change, committed after it
    behind = create_from_classified(db=tdb, config=config, event=classified(at=clock()),
                                    now=clock() - timedelta(minutes=5))[0]
    assert behind["updated_at"] < tdb[LEASES].find_one({"_id": LEASE_ID})["acked_at"]
    tdb[LEASES].update_one({"_id": LEASE_ID}, {"$set": {"resume_token": {"_data": "00"}}})
    second = start(settings, tdb, clock)
    drain(second)
    assert set(acked) == expected(tdb)
    for ticket in (changed, late, behind):
        assert {f"{ticket['_id']}:{s}" for s in (1, 2)} <= set(acked)
    assert acked[f"{changed['_id']}:3"] >= 1
    # recovery reads the tickets changed since the last acknowledgement, not the whole store
    assert acked[f"{old['_id']}:1"] == 1
    state = tdb[LEASES].find_one({"_id": LEASE_ID})
    assert state["resume_token"] != {"_data": "00"}


def test_a_restart_resumes_the_stream_with_what_changed_meanwhile_and_nothing_else(
        tdb, settings, config, clock, acked):
    first = start(settings, tdb, clock)
    tickets = [new_ticket(tdb, config, clock) for _ in range(5)]
    drain(first)
    stop(first)
    before = set(acked)
    assert before == expected(tdb)
    clock.advance(minutes=5)
    note(tdb, config, clock, tickets[0]["_id"])
    moved = dict(service.bulk_transition(
        db=tdb, config=config, principal=SYSTEM, ticket_ids=[t["_id"] for t in tickets[1:4]],
        to_state="in_progress", note=None, public=False, now=clock()))
    assert not any(isinstance(v, Exception) for v in moved.values())
    reroute(tdb, config, clock, tickets[4]["_id"])  # two entries, one a correction
    fresh = new_ticket(tdb, config, clock)
    second = start(settings, tdb, clock)
    drain(second)
    assert set(acked) == expected(tdb)
    assert all(acked[event_id] == 1 for event_id in acked), acked  # resumed: no repeats
    rerouted = tickets[4]["_id"]
    assert {e for e in acked if e not in before} == {
        *(f"{t['_id']}:3" for t in tickets), f"{rerouted}:4", f"{rerouted}:4:corrected",
        f"{fresh['_id']}:1", f"{fresh['_id']}:2"}


def test_the_resume_point_is_saved_at_most_every_interval_and_a_crash_sends_it_again(
        tdb, settings, config, clock, acked, monkeypatch):
    """A busy publisher saves its resume point at most every SAVE_EVERY_S, not after every
    acknowledged batch (a store write each): a crash sends the unsaved batches again (the
    consumers drop repeats by event id), a clean stop saves them first (no repeats)."""
    monkeypatch.setattr(stream_outbox, "SAVE_EVERY_S", 3600.0)
    for clean in (False, True):
        first = Publisher(settings=settings, db=tdb, clock=clock, batch=1)
        assert first.lease.acquire()
        first.connect()
        saved = tdb[LEASES].find_one({"_id": LEASE_ID})
        tickets = [new_ticket(tdb, config, clock) for _ in range(3)]
        ids = {t["_id"] for t in tickets}
        for _ in tickets:  # three batches acknowledged, none caught up yet
            assert first.publish_once()[0] == 1
        assert {e.split(":")[0] for e in acked} >= ids
        assert tdb[LEASES].find_one({"_id": LEASE_ID})["resume_token"] == saved["resume_token"]
        if clean:
            stop(first)
        else:
            crash(first, tdb, clock)
        before = Counter(acked)
        second = start(settings, tdb, clock)
        drain(second)
        stop(second)
        again = {e for e in acked if acked[e] > before[e]}
        assert set(acked) == expected(tdb)
        if clean:
            assert not again
        else:
            assert {e.split(":")[0] for e in again} == ids


def test_changes_without_history_publish_nothing(tdb, settings, config, clock, acked):
    publisher = start(settings, tdb, clock)
    ticket = new_ticket(tdb, config, clock)
    drain(publisher)
    tdb[TICKETS].update_one({"_id": ticket["_id"]}, {"$set": {"sla.checked_at": clock()}})
    assert publisher.tickets.pending(10) == []
    stop(publisher)
    assert sorted(acked.values()) == [1, 1]


@pytest.mark.slow
def test_a_broker_that_lost_its_topics_gets_the_tickets_again(env, tdb, config, clock,
                                                              own_broker):
    """The embedded broker keeps topics in memory: a restart loses what consumers had not
    read yet. The publisher finds the topics missing and sends the window's tickets again."""
    settings = Settings.from_env({**env, "KAFKA_BOOTSTRAP": own_broker.bootstrap})
    tickets = [new_ticket(tdb, config, clock) for _ in range(3)]
    ids = expected(tdb)
    publisher = Publisher(settings=settings, db=tdb, clock=clock)
    with running(publisher.run):
        collect(own_broker.bootstrap, TICKETS_STATUS, until=ids, key="event_id", timeout=60)
        own_broker.stop()
        own_broker.start()
        own_broker.wait_ready()
        note(tdb, config, clock, tickets[0]["_id"])
        ids = expected(tdb)
        events = collect(own_broker.bootstrap, TICKETS_STATUS, until=ids, key="event_id",
                         timeout=90)
    assert {e["event_id"] for e in events} == ids


# --- any sequence of changes, crashes and restarts ----------------------------------------

STEPS = st.lists(st.sampled_from(
    ["create", "create", "note", "note", "reroute", "round", "round", "crash_before_ack",
     "crash_after_ack", "crash", "restart", "lose_resume_point", "clock"]),
    min_size=1, max_size=14)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
# the broker never acknowledged a batch read from the stream (a publisher saving its resume
# point before the acknowledgement loses it); a change of two entries read from the stream
@example(steps=["round", "create", "crash_before_ack"])
@example(steps=["create", "round", "reroute", "note", "restart"])
def test_every_committed_entry_is_published_whatever_happens(steps, mongo, settings, config,
                                                            clock, acked):
    db = mongo[f"pub-{uuid.uuid4().hex[:10]}"]
    init_db(db)
    acked.clear()
    tickets: list[str] = []
    publisher: Publisher | None = None
    try:
        for step in steps:
            if step == "create":
                tickets.append(new_ticket(db, config, clock)["_id"])
            elif step == "note" and tickets:
                note(db, config, clock, tickets[len(acked) % len(tickets)])
            elif step == "reroute" and tickets:
                reroute(db, config, clock, tickets[-1])
            elif step == "clock":
                clock.advance(minutes=7)
            elif step == "round":
                publisher = publisher or start(settings, db, clock)
                publisher.publish_once()
            elif step in ("crash_before_ack", "crash_after_ack") and publisher is not None:
                acked.crash = step.removeprefix("crash_").removesuffix("_ack")
                try:
                    publisher.publish_once()
                except Crash:
                    pass
                acked.crash = None
                crash(publisher, db, clock)
                publisher = None
            elif step == "crash" and publisher is not None:
                crash(publisher, db, clock)
                publisher = None
            elif step == "restart" and publisher is not None:
                stop(publisher)
                publisher = None
            elif step == "lose_resume_point":
                db[LEASES].update_one({"_id": LEASE_ID},
                                      {"$set": {"resume_token": {"_data": "00"}}})
        if publisher is not None:
            stop(publisher)
        publisher = start(settings, db, clock)
        drain(publisher)
        assert expected(db) <= set(acked), sorted(expected(db) - set(acked))
    finally:
        if publisher is not None:
            publisher.disconnect()
        mongo.drop_database(db.name)


def test_two_publishers_never_save_over_each_other(tdb, settings, config, clock, acked):
    """The resume point is saved on the condition that the saver holds the lease: a
    publisher that lost it stops (and the holder's stream position stands)."""
    first = start(settings, tdb, clock)
    new_ticket(tdb, config, clock)
    crash(first, tdb, clock)
    second = start(settings, tdb, clock)
    drain(second)
    saved = tdb[LEASES].find_one({"_id": LEASE_ID})["resume_token"]
    first.connect()
    with pytest.raises(outbox.LeaseLost):
        first.tickets.save({"_data": "ff"}, {})
    assert tdb[LEASES].find_one({"_id": LEASE_ID})["resume_token"] == saved
    stop(second)
    first.disconnect()
