"""The ticket repository holds the tickets' queries: the monitor, the publisher, the search
index and the figures' reference count go through it, and its queries say what the domain
rules say (the breach list is `is_breached` as a query)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from services.tracker.sla.summary import is_breached
from services.tracker.store import TICKETS
from services.tracker.tickets import repository, service
from services.tracker.tickets.service import SYSTEM
from shared.tickets import OPEN_STATES

ROOT = Path(__file__).resolve().parents[2]
# the repository, the collection's indexes, and the figures' counters (issue 19's module)
OWNERS = {"services/tracker/tickets/repository.py", "services/tracker/store.py",
          "services/tracker/stats/counters.py"}


def test_no_module_but_the_repository_queries_the_tickets():
    direct = re.compile(r"\[TICKETS\]")
    offenders = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "services/tracker").rglob("*.py")
                       if str(p.relative_to(ROOT)) not in OWNERS
                       and direct.search(p.read_text("utf-8")))
    assert offenders == []


def test_the_queries_follow_the_rules(tdb, config, clock, make_ticket):
    tickets = [make_ticket(category=c, urgent=u)
               for c, u in (("traffic", False), ("fire_safety", True), ("flooding", False),
                            ("security", True))]
    service.transition(db=tdb, config=config, principal=SYSTEM, ticket_id=tickets[2]["_id"],
                       to_state="resolved", note=None, public=False, now=clock())
    for hours in (0, 1, 6, 30, 200):
        now = clock() + timedelta(hours=hours)
        stored = list(tdb[TICKETS].find({}))
        assert {t["_id"] for t in repository.breaches(tdb, now=now, limit=100)} == \
            {t["_id"] for t in stored if is_breached(t, now=now)}
        due = repository.due_for_check(tdb, now=now, limit=100)
        assert {t["_id"] for t in due} == {
            t["_id"] for t in stored
            if t["sla"]["next_check_at"] is not None and t["sla"]["next_check_at"] <= now}
    pages = list(repository.open_pages(tdb, batch=1))
    assert all(len(page) == 1 for page in pages)
    assert sorted(t["_id"] for page in pages for t in page) == sorted(
        t["_id"] for t in tickets if t["_id"] != tickets[2]["_id"])
    assert all(t["state"] in OPEN_STATES for page in pages for t in page)
    since = list(repository.updated_since(tdb, None))  # the publisher's recovery
    assert sorted(t["_id"] for t in since) == sorted(t["_id"] for t in tickets)
    assert [t["updated_at"] for t in since] == sorted(t["updated_at"] for t in since)
    assert {t["_id"] for t in repository.updated_since(tdb, clock())} == \
        {t["_id"] for t in tickets}
    assert list(repository.updated_since(tdb, clock() + timedelta(seconds=1))) == []
