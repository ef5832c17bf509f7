"""The figures bench's generated tickets say what the tracker would store: a ticket the
generator marks breached is breached by the rule at the bench's instant (the breach list and
the counters read the same tickets), and ids are shaped like the intake's (filing second
first), a handler's move is measured on the same kind of ticket at every size, and the history
control holds the large database's last days alone at its density."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from itertools import islice

from bench.figures_bench import (
    CITY,
    NOW,
    Generator,
    arrivals,
    load_bulk,
    span_count,
    tickets_to_finish,
)
from services.tracker.config import load_config
from services.tracker.sla.summary import is_breached
from services.tracker.store import TICKETS
from shared.settings import Settings


def test_generated_breaches_are_breaches_by_the_rule_and_ids_sort_by_filing():
    config = load_config(Settings.from_env({"APP_ENV": "test"}))
    tickets = list(islice(Generator(config, 20_000).tickets(), 20_000))
    flagged = [t for t in tickets if t["sla"]["breached"]]
    assert flagged, "no breached ticket generated"
    assert all(is_breached(t, now=NOW) for t in flagged)
    assert all(t["breach_at"] == datetime.max for t in tickets if not t["sla"]["breached"])
    assert len({t["_id"] for t in tickets}) == len(tickets)
    assert all(datetime.fromtimestamp(int(t["_id"][:8], 16), UTC)
               == t["created_at"].replace(microsecond=0) for t in tickets)


def test_the_tickets_a_handler_finishes_are_the_newest_open_ones_not_breached(db):
    # the old selection took the first open tickets the store returned, the oldest: all
    # breached at 1,000,000 tickets, few at 10,000, so the two sizes timed different writes
    config = load_config(Settings.from_env({"APP_ENV": "test"}))
    load_bulk(db, config, 2000)
    open_ones = [t for t in db[TICKETS].find({"state": {"$in": ["assigned", "in_progress"]}})]
    assert any(t["sla"]["breached"] for t in open_ones), "no open breach to leave aside"
    expected = sorted((t for t in open_ones if not t["sla"]["breached"]),
                      key=lambda t: t["created_at"])[-5:]
    chosen = tickets_to_finish(db, limit=5)
    assert [t["_id"] for t in chosen] == [t["_id"] for t in expected]
    assert not any(is_breached(db[TICKETS].find_one({"_id": t["_id"]}), now=NOW)
                   for t in chosen)


def test_the_history_control_holds_the_last_days_alone_at_the_two_years_density():
    # the large database's tickets a day, day by day, in its last 90 days only: its count is
    # those days' share of the two years' weights (weekdays, and today's hours before now),
    # not 90/730 of the total
    full = Counter(t.astimezone(CITY).date() for t in arrivals(random.Random(1), 73_000))
    count = span_count(73_000, 90)
    recent = Counter(t.astimezone(CITY).date()
                     for t in arrivals(random.Random(2), count, days=90))
    last_days = sorted(full)[-90:]
    assert sorted(recent) == last_days
    assert sum(recent.values()) == count == sum(full[day] for day in last_days)
    assert all(abs(recent[day] - full[day]) <= 1 for day in last_days)


def test_generated_tickets_of_a_span_are_filed_in_its_days():
    config = load_config(Settings.from_env({"APP_ENV": "test"}))
    tickets = list(Generator(config, 500, days=7).tickets())
    first_day = NOW.astimezone(CITY).date().toordinal() - 6
    assert len(tickets) == 500
    assert all(first_day <= t["created_at"].astimezone(CITY).date().toordinal()
               and t["created_at"] <= NOW for t in tickets)
