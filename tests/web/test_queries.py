"""The handler's queue against a plain query; the pages' own queries; the dashboard's
snapshot cache."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from services.tracker.pages.figures import FiguresCache
from services.tracker.staff import Principal
from services.tracker.store import TICKETS
from services.tracker.tickets import repository, service
from services.tracker.tickets.repository import TicketFilter
from services.tracker.tickets.service import SYSTEM

HANDLER = Principal(user="h", role="handler", department="so_xay_dung")
SUPERVISOR = Principal(user="s", role="supervisor")


@pytest.fixture
def mixed(make_ticket, db, config, clock):
    tickets = [make_ticket(category=c, district=d, urgent=u) for c, d, u in (
        ("traffic", "q3", False), ("traffic", "q1", True), ("construction", "q3", False),
        ("electricity", "q5", False), ("traffic", "q3", False), ("flooding", "q7", True))]
    for ticket, to in zip(tickets, ("in_progress", "resolved", "waiting_citizen"), strict=False):
        service.transition(db=db, config=config, principal=SYSTEM, ticket_id=ticket["_id"],
                           to_state=to, note=None, public=False, now=clock())
    make_ticket(needs_triage=True)
    clock.advance(days=10)
    return tickets


def one_query(db, principal, filters, limit, offset):
    """The queue as one plain query: what `repository.queue` must answer, however it reads."""
    query = {**repository.visible_filter(principal)}
    for key in ("state", "category", "district", "urgent"):
        if filters.get(key) is not None:
            query[key] = filters[key]
    if filters.get("department") and principal.role != "handler":
        query["department"] = filters["department"]
    if filters.get("sla_state"):
        query["sla.state"] = filters["sla_state"]
    if "state" not in query:
        query["state"] = {"$nin": ["resolved", "closed", "duplicate"]}
    docs = db[TICKETS].find(query).sort([("queue_key", 1), ("_id", 1)]).skip(offset).limit(limit)
    return [t["_id"] for t in docs], db[TICKETS].count_documents(query)


@pytest.mark.parametrize("principal", [HANDLER, SUPERVISOR], ids=["handler", "supervisor"])
@pytest.mark.parametrize("filters", [{}, {"district": "q3"}, {"urgent": True},
                                     {"state": "resolved"}, {"category": "traffic"},
                                     {"department": "dien_luc"}, {"sla_state": "breached"},
                                     {"sla_state": "on_track", "district": "q3"}])
def test_queue_is_the_plain_query(db, mixed, principal, filters):
    for limit, offset in ((50, 0), (2, 1)):
        typed = TicketFilter(**{k: v for k, v in filters.items() if k != "state"},
                             states=(filters["state"],) if "state" in filters else None)
        docs, total = repository.queue(db, principal=principal, filters=typed, limit=limit,
                                       offset=offset)
        assert ([t["_id"] for t in docs], total) == one_query(db, principal, filters,
                                                               limit, offset)
    if not filters:
        assert total > 0  # the fixture gives both principals open tickets to order


def test_live_breaches_are_the_overdue_open_tickets(db, make_ticket, config, clock):
    late, later = make_ticket(), make_ticket()
    clock.advance(hours=1)
    fresh = make_ticket()
    service.transition(db=db, config=config, principal=SYSTEM, ticket_id=later["_id"],
                       to_state="resolved", note=None, public=False, now=clock())
    assert repository.breaches(db, now=clock(), limit=10) == []
    found = repository.breaches(db, now=clock() + timedelta(days=30), limit=10)
    assert [t["_id"] for t in found][:1] == [late["_id"]]
    assert later["_id"] not in {t["_id"] for t in found} and fresh["_id"] in {
        t["_id"] for t in found}


def test_figures_are_served_from_the_snapshot_and_refreshed_behind():
    now = [0.0]
    cache = FiguresCache(max_age_s=30, monotonic=lambda: now[0])
    calls = []
    done = threading.Event()

    def compute():
        calls.append(now[0])
        done.set()
        return f"figures {len(calls)}"

    assert cache.get(30, compute) == "figures 1"
    now[0] = 10
    assert cache.get(30, compute) == "figures 1" and len(calls) == 1
    now[0] = 45
    done.clear()
    assert cache.get(30, compute) == "figures 1"  # stale, served at once...
    assert done.wait(5)  # ...while a thread recomputes
    for _ in range(50):
        if cache.get(30, compute) == "figures 2":
            break
        threading.Event().wait(0.02)
    assert cache.get(30, compute) == "figures 2"
    assert cache.get(7, compute) == "figures 3"  # each window has its own snapshot
