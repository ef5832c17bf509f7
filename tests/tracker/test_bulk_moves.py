"""A bulk move (`service.bulk_transition`, the API's and the queue page's bulk action) checks
every ticket as a single move does, writes the allowed ones in one transaction with one move
of the figures' counters, and answers a conflict for a ticket changed since it was read (the
publisher reads the moves from the tickets' change stream: tests/tracker/
test_publisher_stream.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.tracker.stats import counters
from services.tracker.store import TICKETS
from services.tracker.tickets import repository, service
from services.tracker.tickets.errors import Conflict, IllegalTransition, TicketNotFound
from services.tracker.tickets.states import check_transition
from tests.tracker.test_figure_counters import consistent
from tests.tracker.test_honest_figures import move

SUPERVISOR = service.Principal(user="s", role="supervisor")


def bulk(tdb, config, clock, ids, to, principal=SUPERVISOR):
    return dict(service.bulk_transition(db=tdb, config=config, principal=principal,
                                        ticket_ids=ids, to_state=to, note="ok", public=True,
                                        now=clock()))


def test_a_bulk_move_is_one_transaction_and_the_counters_stay_exact(tdb, config, clock,
                                                                    make_ticket, monkeypatch):
    tickets = [make_ticket(category="flooding") for _ in range(4)]
    move(tdb, config, clock, tickets[3], "in_progress")
    transactions = []
    real = counters._transaction
    monkeypatch.setattr(counters, "_transaction",
                        lambda db, write: (transactions.append(1), real(db, write))[1])
    clock.advance(hours=1)
    ids = [t["_id"] for t in tickets]
    out = bulk(tdb, config, clock, [*ids, ids[0], "no-such-ticket"], "in_progress")
    assert list(out) == [*ids, "no-such-ticket"]  # in order, a repeat once
    assert all(out[i]["state"] == "in_progress" for i in ids[:3])
    assert isinstance(out[ids[3]], IllegalTransition)  # already in progress
    assert isinstance(out["no-such-ticket"], TicketNotFound)
    assert len(transactions) == 1
    stored = {t["_id"]: t for t in tdb[TICKETS].find({"_id": {"$in": ids}})}
    for i in ids[:3]:
        assert stored[i]["seq"] == 3 and "unpublished" not in stored[i]
        assert stored[i]["history"][-1]["to"] == "in_progress"
        assert stored[i]["history"][-1]["note"] == "ok"
    consistent(tdb, config)


def test_a_ticket_changed_since_the_read_is_a_conflict_and_the_others_move(
        tdb, config, clock, make_ticket, monkeypatch):
    tickets = [make_ticket(category="flooding") for _ in range(3)]
    ids = [t["_id"] for t in tickets]
    stale = repository.get_visible_many(tdb, SUPERVISOR, ids)
    move(tdb, config, clock, tickets[1], "in_progress")  # between the read and the write
    monkeypatch.setattr(repository, "get_visible_many", lambda *a, **k: stale)
    out = bulk(tdb, config, clock, ids, "resolved")
    assert isinstance(out[ids[1]], Conflict)
    assert out[ids[0]]["state"] == out[ids[2]]["state"] == "resolved"
    assert tdb[TICKETS].find_one({"_id": ids[1]})["state"] == "in_progress"  # not overwritten
    consistent(tdb, config)


def test_a_duplicate_in_a_bulk_move_is_undone_alone_and_moves_its_original(
        tdb, config, clock, make_ticket):
    original = make_ticket(category="traffic")
    copy = make_ticket(category="traffic")
    service.mark_duplicate(db=tdb, config=config, principal=SUPERVISOR, ticket_id=copy["_id"],
                           original_id=original["_id"], note=None, now=clock())
    target = service.undo_target(tdb[TICKETS].find_one({"_id": copy["_id"]}))
    out = bulk(tdb, config, clock, [original["_id"], copy["_id"]], target)
    assert not isinstance(out[copy["_id"]], Exception)
    assert tdb[TICKETS].find_one({"_id": copy["_id"]})["state"] == target
    consistent(tdb, config)


TARGETS = ["in_progress", "resolved", "closed", "reopened", "assigned"]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(TARGETS)), min_size=1,
                     max_size=6),
       target=st.sampled_from(TARGETS))
def test_a_bulk_move_ends_where_single_moves_would(tdb, config, clock, make_ticket, plan,
                                                   target):
    """For any tickets' states and any target: the tickets that move are exactly those a
    single move would accept, they end in the target, the others are untouched, and the
    counters equal their recomputation."""
    tickets = [make_ticket(category="flooding") for _ in range(4)]
    for i, to in plan:  # bring the tickets to various states (refused moves are skipped)
        try:
            service.transition(db=tdb, config=config, principal=SUPERVISOR,
                               ticket_id=tickets[i]["_id"], to_state=to, note="x",
                               public=False, now=clock())
        except service.DomainError:
            pass
        clock.advance(minutes=30)
    ids = [t["_id"] for t in tickets]
    before = {t["_id"]: t for t in tdb[TICKETS].find({"_id": {"$in": ids}})}
    out = bulk(tdb, config, clock, ids, target)
    after = {t["_id"]: t for t in tdb[TICKETS].find({"_id": {"$in": ids}})}
    for i in ids:
        try:
            check_transition(before[i]["state"], target)
            legal = True
        except IllegalTransition:
            legal = False
        moved = not isinstance(out[i], Exception)
        if moved:
            assert after[i]["state"] == target and after[i]["seq"] == before[i]["seq"] + 1
        else:
            assert after[i]["seq"] == before[i]["seq"]
        if not legal:
            assert not moved
    consistent(tdb, config)


def test_a_conflict_on_the_counters_does_not_write_the_batch_again(tdb, config, clock,
                                                                  make_ticket, monkeypatch):
    """The counters are written first: a run that conflicts on them (another writer holds
    them) ends before any ticket of the batch is written. They were written last, so each
    conflict wrote the whole batch again (the month's replay: 1.8 ticket writes per move)."""
    from pymongo.errors import OperationFailure

    tickets = [make_ticket(category="flooding") for _ in range(5)]
    ids = [t["_id"] for t in tickets]
    real_counters = counters._write_counters
    conflicts = [1]

    def write_counters(db, counts, session):
        if conflicts:
            conflicts.pop()
            raise OperationFailure("WriteConflict", code=112,
                                   details={"errorLabels": ["TransientTransactionError"]})
        return real_counters(db, counts, session)

    ticket_writes = []
    collection = tdb[TICKETS].__class__
    real_update = collection.update_one

    def update_one(self, filter, *args, **kwargs):  # noqa: A002
        if self.name == TICKETS:
            ticket_writes.append(filter["_id"])
        return real_update(self, filter, *args, **kwargs)

    monkeypatch.setattr(counters, "_write_counters", write_counters)
    monkeypatch.setattr(collection, "update_one", update_one)
    clock.advance(hours=1)
    out = bulk(tdb, config, clock, ids, "in_progress")
    monkeypatch.undo()
    assert not conflicts  # the conflict happened, and the transaction ran again
    assert all(out[i]["state"] == "in_progress" for i in ids)
    assert sorted(ticket_writes) == sorted(ids)  # each ticket written once
    consistent(tdb, config)


def test_a_batch_writes_each_ticket_by_id_alone(tdb, config, clock, make_ticket, monkeypatch):
    """Checked on the transaction's read, written by `_id`: the embedded store plans a filter
    of several fields against every index (a third more of its CPU per update)."""
    ids = [make_ticket(category="flooding")["_id"] for _ in range(3)]
    filters = []
    collection = tdb[TICKETS].__class__
    real_update = collection.update_one

    def update_one(self, filter, *args, **kwargs):  # noqa: A002
        if self.name == TICKETS:
            filters.append(filter)
        return real_update(self, filter, *args, **kwargs)

    monkeypatch.setattr(collection, "update_one", update_one)
    clock.advance(hours=1)
    out = bulk(tdb, config, clock, ids, "in_progress")
    monkeypatch.undo()
    assert all(out[i]["state"] == "in_progress" for i in ids)
    assert sorted(map(str, filters)) == sorted(str({"_id": i}) for i in ids)
    consistent(tdb, config)


def test_a_write_committed_after_the_transactions_read_is_not_overwritten(
        tdb, config, clock, make_ticket, monkeypatch):
    """Another writer commits a ticket's change after the bulk move's transaction read it:
    the write by `_id` conflicts, the transaction runs again, and the ticket is a conflict."""
    tickets = [make_ticket(category="flooding") for _ in range(3)]
    ids = [t["_id"] for t in tickets]
    real_counters = counters._write_counters
    once = [1]

    def write_counters(db, counts, session):
        real_counters(db, counts, session)  # the transaction's snapshot is taken by now
        if once:
            once.pop()
            tdb[TICKETS].update_one({"_id": ids[1]},  # outside it, committed at once
                                    {"$set": {"note": "other"}, "$inc": {"seq": 1}})

    monkeypatch.setattr(counters, "_write_counters", write_counters)
    clock.advance(hours=1)
    out = bulk(tdb, config, clock, ids, "in_progress")
    monkeypatch.undo()
    assert isinstance(out[ids[1]], Conflict)
    assert out[ids[0]]["state"] == out[ids[2]]["state"] == "in_progress"
    stored = tdb[TICKETS].find_one({"_id": ids[1]})
    assert stored["note"] == "other" and stored["state"] != "in_progress"
    consistent(tdb, config)
