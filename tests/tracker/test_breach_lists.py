"""The breach lists (issue 19): the dashboard's latest breaches and the full list in pages,
most overdue first, each read at a cost that does not grow with how many are breached. Both
are `is_breached` as a query, placed in the `breach_at` index by the counters' open breaches
by hour; property tests check them against the rule on random tickets, with the counters
exact and with the counters a sweep behind."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.tracker.monitor import sweep
from services.tracker.sla.summary import NEVER, is_breached
from services.tracker.stats import counters
from services.tracker.store import TICKETS
from services.tracker.tickets import repository, service
from services.tracker.tickets.service import SYSTEM
from shared.tickets import TicketState

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
STATES = [s.value for s in TicketState]
DEPARTMENTS = ["a", "b"]
HOUR = 3600
TICKET = st.tuples(st.sampled_from(STATES), st.sampled_from(DEPARTMENTS),
                   st.one_of(st.none(), st.just(NEVER),
                             st.integers(-5 * 365 * 24 * HOUR, 30 * 24 * HOUR),
                             st.integers(-6 * HOUR, HOUR),
                             st.sampled_from([0, 1, -1, -HOUR, -HOUR - 1, -3 * HOUR])))
FAST = hypothesis_settings(max_examples=40, deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture])


def store(tdb, tickets: list[tuple]) -> list[dict]:
    tdb[TICKETS].delete_many({})
    docs = []
    for i, (state, department, offset) in enumerate(tickets):
        breach_at = offset if offset is None or offset is NEVER else \
            NOW + timedelta(seconds=offset)
        docs.append({"_id": f"t{i:03d}", "tracking_code": f"HCM-{i:03d}", "state": state,
                     "department": department, "category": "traffic", "breach_at": breach_at,
                     "expected_resolution_at": breach_at, "history": [{"note": "x" * 50}]})
    if docs:
        tdb[TICKETS].insert_many(docs)
    return docs


def breached(docs: list[dict], department: str | None = None) -> list[dict]:
    """The rule, most overdue first."""
    return sorted((d for d in docs if is_breached(d, now=NOW)
                   and department in (None, d["department"])),
                  key=lambda d: (d["breach_at"], d["_id"]))


def hours(docs: list[dict], department: str | None = None,
          swept: datetime = NOW) -> list[tuple[int, int]]:
    """What the counters hold: the breaches by hour, those due after the monitor's last
    sweep (`swept`) not yet counted."""
    counted = Counter(counters.breach_hour(d["breach_at"]) for d in breached(docs, department)
                      if d["breach_at"] <= swept)
    return sorted(counted.items())


LAG = st.sampled_from([0, 0, 1, 90 * 60, 5 * HOUR])  # seconds the counters are behind


@FAST
@given(tickets=st.lists(TICKET, max_size=40), limit=st.integers(1, 8),
       department=st.sampled_from([None, *DEPARTMENTS]), lag=LAG)
def test_the_latest_breaches_are_the_rule_newest_first(tdb, tickets, limit, department, lag):
    docs = store(tdb, tickets)
    expected = breached(docs, department)
    got = repository.latest_breaches(
        tdb, now=NOW, limit=limit, department=department,
        hours=hours(docs, department, swept=NOW - timedelta(seconds=lag)))
    assert [t["_id"] for t in got] == [d["_id"] for d in expected[::-1][:limit]]
    # a row has what it shows, not the history
    assert all(set(t) >= {"_id", *repository.BREACH_ROW_FIELDS} and "history" not in t
               for t in got)


@FAST
@given(tickets=st.lists(TICKET, max_size=40), size=st.integers(1, 7),
       department=st.sampled_from([None, *DEPARTMENTS]), lag=LAG)
def test_the_full_list_in_pages_is_the_rule_most_overdue_first(tdb, tickets, size,
                                                                department, lag):
    docs = store(tdb, tickets)
    expected = breached(docs, department)
    counted = hours(docs, department, swept=NOW - timedelta(seconds=lag))
    pages = [repository.breach_page(tdb, now=NOW, hours=counted, limit=size, skip=skip,
                                    department=department)
             for skip in range(0, len(expected) + size, size)]
    assert all(len(p) == size for p in pages[:-2]) and pages[-1] == []
    assert [t["_id"] for p in pages for t in p] == [d["_id"] for d in expected]
    # the rule as one query (checks) says the same
    assert [t["_id"] for t in repository.breaches(tdb, now=NOW, limit=len(docs) + 1,
                                                  department=department)] == \
        [d["_id"] for d in expected]


def docs_examined(db, filters: list[dict]) -> int:
    """What the store read for these queries of the tickets, by its own explain."""
    return sum(db.command("explain", {"find": TICKETS, "filter": f},
                          verbosity="executionStats")["executionStats"]["totalDocsExamined"]
               for f in filters)


class Recording:
    """The tickets collection, recording the filters of its queries."""

    def __init__(self, db) -> None:
        self.db, self.filters = db, []

    def __getitem__(self, name: str) -> Recording:
        assert name == TICKETS
        return self

    def find(self, filter_: dict, *args, **kwargs):
        self.filters.append(filter_)
        return self.db[TICKETS].find(filter_, *args, **kwargs)


def test_a_page_reads_about_its_rows_however_many_are_breached(tdb):
    """Old code: the full list was one sorted query of every open breach (the embedded
    store reads all the matches of a sorted, limited query): 905 read for 50 rows here."""
    open_state = TicketState.IN_PROGRESS.value
    for count in (30, 900):
        # a breach every half hour, a few years-old ones and a burst due at the same hour
        docs = store(tdb, [(open_state, "a", -HOUR // 2 * (i + 1)) for i in range(count)]
                     + [(open_state, "b", -3 * 365 * 24 * HOUR + i) for i in range(5)])
        counted, expected = hours(docs), breached(docs)
        for skip in (0, 50, len(expected) // 2, len(expected) - 10):
            recording = Recording(tdb)
            got = repository.breach_page(recording, now=NOW, hours=counted, limit=50,
                                         skip=skip)
            assert [t["_id"] for t in got] == [d["_id"] for d in expected[skip:skip + 50]]
            assert docs_examined(tdb, recording.filters) <= 50 + 2, (count, skip)
        recording = Recording(tdb)
        got = repository.latest_breaches(recording, now=NOW, hours=counted, limit=20)
        assert [t["_id"] for t in got] == [d["_id"] for d in expected[::-1][:20]]
        assert docs_examined(tdb, recording.filters) <= 20 + 2, count


def test_the_counters_hold_the_open_breaches_by_hour(tdb, config, clock, make_ticket):
    """The `bh:0` document moves with the breaches (a sweep, a breached ticket finished),
    equals the recomputation from the tickets, and an hour no breach holds leaves it."""
    tickets = [make_ticket(category="traffic")]
    clock.advance(hours=2)
    tickets.append(make_ticket(category="electricity"))
    assert counters.breach_hours(tdb) == []
    clock.advance(days=20)
    sweep(db=tdb, config=config, now=clock())
    stored = {t["_id"]: t for t in tdb[TICKETS].find({})}
    due = Counter(counters.breach_hour(stored[t["_id"]]["breach_at"]) for t in tickets)
    assert len(due) == 2 and counters.breach_hours(tdb) == sorted(due.items())
    department = tickets[1]["department"]
    assert counters.breach_hours(tdb, department) == [
        (counters.breach_hour(stored[tickets[1]["_id"]]["breach_at"]), 1)]
    assert counters.breach_hours(tdb, "nobody") == []
    expected, _, _ = counters.recompute(tdb, tz=config.business.tz, now=clock())
    assert counters.stored(tdb) == expected
    service.transition(db=tdb, config=config, principal=SYSTEM, ticket_id=tickets[1]["_id"],
                       to_state="resolved", note=None, public=False, now=clock())
    first = counters.breach_hour(stored[tickets[0]["_id"]]["breach_at"])
    assert counters.breach_hours(tdb) == [(first, 1)]
    doc = tdb[counters.FIGURE_COUNTERS].find_one({"_id": counters.BREACH_HOURS})
    assert counters.flatten(doc) == {f"{counters.key(tickets[0]['department'])}.{first}": 1}
    assert all(n for d in doc.values() if isinstance(d, dict) for n in d.values())
    expected, _, _ = counters.recompute(tdb, tz=config.business.tz, now=clock())
    assert counters.stored(tdb) == expected
