"""The breach lists (issue 19): the dashboard's latest breaches, read at a cost that does not
grow with how many are breached, and the full list in pages, most overdue first. Both are
`is_breached` as a query; a property test checks them against the rule on random tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.tracker.sla.summary import NEVER, is_breached
from services.tracker.stats import counters
from services.tracker.store import TICKETS
from services.tracker.tickets import repository
from shared.tickets import TicketState

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
STATES = [s.value for s in TicketState]
DEPARTMENTS = ["a", "b"]
HOUR = 3600
TICKET = st.tuples(st.sampled_from(STATES), st.sampled_from(DEPARTMENTS),
                   st.one_of(st.none(), st.just(NEVER),
                             st.integers(-5 * 365 * 24 * HOUR, 30 * 24 * HOUR),
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


@FAST
@given(tickets=st.lists(TICKET, max_size=40), limit=st.integers(1, 8),
       department=st.sampled_from([None, *DEPARTMENTS]))
def test_the_latest_breaches_are_the_rule_newest_first(tdb, tickets, limit, department):
    docs = store(tdb, tickets)
    expected = breached(docs, department)
    got = repository.latest_breaches(tdb, now=NOW, limit=limit, total=len(expected),
                                     department=department)
    assert [t["_id"] for t in got] == [d["_id"] for d in expected[::-1][:limit]]
    # a row has what it shows, not the history
    assert all(set(t) == {"_id", *repository.BREACH_ROW_FIELDS} for t in got)
    # counters ahead of the live rule (a breach not yet swept) change nothing but the cost
    again = repository.latest_breaches(tdb, now=NOW, limit=limit, total=len(expected) + 3,
                                       department=department)
    assert [t["_id"] for t in again] == [t["_id"] for t in got]


@FAST
@given(tickets=st.lists(TICKET, max_size=40), size=st.integers(1, 7),
       department=st.sampled_from([None, *DEPARTMENTS]))
def test_the_full_list_in_pages_is_the_rule_most_overdue_first(tdb, tickets, size,
                                                                department):
    docs = store(tdb, tickets)
    expected = breached(docs, department)
    pages = [repository.breaches(tdb, now=NOW, limit=size, skip=skip, department=department,
                                 fields=repository.BREACH_ROW_FIELDS)
             for skip in range(0, len(expected) + size, size)]
    assert all(len(p) == size for p in pages[:-2]) and pages[-1] == []
    assert [t["_id"] for p in pages for t in p] == [d["_id"] for d in expected]


class Counting:
    """The tickets collection, counting the documents its queries return."""

    def __init__(self, db) -> None:
        self.db, self.read = db, 0

    def __getitem__(self, name: str) -> Counting:
        assert name == TICKETS
        return self

    def find(self, *args, **kwargs) -> list[dict]:
        found = list(self.db[TICKETS].find(*args, **kwargs))
        self.read += len(found)
        return found


def test_the_dashboards_list_reads_about_its_rows_however_many_are_breached(tdb):
    """Old code: one sorted query per open state, limit 50 each, read every breached ticket
    of the state (the embedded store sorts all matches): 900 here."""
    open_state = TicketState.IN_PROGRESS.value
    for count in (30, 900):
        # a breach every half hour and a few years-old ones, as in a city's backlog
        docs = store(tdb, [(open_state, "a", -HOUR // 2 * (i + 1)) for i in range(count)]
                     + [(open_state, "b", -3 * 365 * 24 * HOUR + i) for i in range(5)])
        counting = Counting(tdb)
        got = repository.latest_breaches(counting, now=NOW, limit=20, total=count + 5)
        assert [t["_id"] for t in got] == [d["_id"] for d in breached(docs)[::-1][:20]]
        assert counting.read <= 2 * 20 + 2, (count, counting.read)


def test_the_count_is_the_counters(tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")
    assert counters.open_breach_count(tdb) == 0
    tdb[counters.FIGURE_COUNTERS].update_one(
        {"_id": counters.NOW}, {"$set": {f"breached.{counters.key(ticket['department'])}": 3,
                                        "breached.other": 2}})
    assert counters.open_breach_count(tdb) == 5
    assert counters.open_breach_count(tdb, ticket["department"]) == 3
    assert counters.open_breach_count(tdb, "nobody") == 0
