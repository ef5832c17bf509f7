"""Owners: take, give, release, bulk reassign, the history entry, the queue views, the
supervisor's load and per-handler figures, and round-robin on arrival."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.tracker.owners import service as owners
from services.tracker.store import TICKETS
from tests.tracker.conftest import auth

H1, H2 = "handler.xaydung", "handler.xaydung2"


def _config_with_second_handler(config):
    """The demo directory has one handler per department: add a colleague."""
    from dataclasses import replace

    from services.tracker.staff import Principal

    staff = config.staff
    colleague = Principal(user=H2, role="handler", department="so_xay_dung")
    by_user = dict(staff.by_user)
    by_user[H2] = (colleague, ("plain", "demo1022"))
    by_digest = dict(staff.by_digest)
    from services.tracker.staff import token_digest
    by_digest[token_digest("demo-handler-2")] = colleague
    return replace(config, staff=type(staff)(by_digest, by_user))


def test_take_then_conflict_then_supervisor_reassigns(client, make_ticket, tdb):
    t = make_ticket()
    took = client.post(f"/api/v1/tickets/{t['_id']}/take", headers=auth("handler"))
    assert took.status_code == 200, took.json
    assert took.json["assignee"] == H1
    entry = took.json["history"][-1]
    assert entry["owner_change"] == {"from": None, "to": H1}
    assert entry["from_state"] == entry["to_state"] == "assigned"
    again = client.post(f"/api/v1/tickets/{t['_id']}/take", headers=auth("handler"))
    assert again.status_code == 422  # already the owner
    # a supervisor gives it back to nobody, then the handler takes it again
    freed = client.post(f"/api/v1/tickets/{t['_id']}/assignee", json={"assignee": None},
                        headers=auth("supervisor"))
    assert freed.status_code == 200 and freed.json["assignee"] is None
    assert freed.json["history"][-1]["owner_change"] == {"from": H1, "to": None}
    # the owner must be a handler of the ticket's department
    wrong = client.post(f"/api/v1/tickets/{t['_id']}/assignee",
                        json={"assignee": "handler.dienluc"}, headers=auth("supervisor"))
    assert wrong.status_code == 422
    assert tdb[TICKETS].find_one({"_id": t["_id"]})["assignee"] is None


def test_other_department_cannot_take_or_see(client, make_ticket):
    t = make_ticket()
    assert client.post(f"/api/v1/tickets/{t['_id']}/take",
                       headers=auth("other_handler")).status_code == 404
    assert client.post(f"/api/v1/tickets/{t['_id']}/assignee", json={"assignee": None},
                       headers=auth("other_handler")).status_code == 404
    listed = client.get("/api/v1/tickets?assignee=none", headers=auth("other_handler"))
    assert t["_id"] not in listed.get_data(as_text=True)


def test_views_mine_and_unassigned(client, make_ticket):
    a, b = make_ticket(), make_ticket()
    client.post(f"/api/v1/tickets/{a['_id']}/take", headers=auth("handler"))
    mine = client.get("/api/v1/tickets?assignee=me", headers=auth("handler")).json
    unowned = client.get("/api/v1/tickets?assignee=none", headers=auth("handler")).json
    assert [t["id"] for t in mine["items"]] == [a["_id"]]
    assert [t["id"] for t in unowned["items"]] == [b["_id"]]
    bad = client.get("/api/v1/tickets?assignee=$where", headers=auth("handler"))
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "assignee"


def test_handler_cannot_take_over_a_colleagues_ticket(app, tdb, config, clock, make_ticket):
    config = _config_with_second_handler(config)
    from services.tracker.app import create_app

    client = create_app(app.extensions["tracker"].settings, clock=clock,
                        config=config).test_client()
    t = make_ticket()
    assert client.post(f"/api/v1/tickets/{t['_id']}/take",
                       headers=auth("handler")).status_code == 200
    other = {"Authorization": "Bearer demo-handler-2"}
    assert client.post(f"/api/v1/tickets/{t['_id']}/take", headers=other).status_code == 409
    assert client.post(f"/api/v1/tickets/{t['_id']}/assignee", json={"assignee": H2},
                       headers=other).status_code == 403
    # the owner may hand it to the colleague; the supervisor may move it anywhere in the dept
    assert client.post(f"/api/v1/tickets/{t['_id']}/assignee", json={"assignee": H2},
                       headers=auth("handler")).status_code == 200


def test_bulk_reassign_and_load(client, make_ticket, clock):
    tickets = [make_ticket() for _ in range(3)]
    other = make_ticket(category="electricity")  # another department's ticket
    resp = client.post("/api/v1/tickets/bulk/assignee", headers=auth("supervisor"),
                       json={"ticket_ids": [t["_id"] for t in tickets] + [other["_id"]],
                             "assignee": H1})
    assert resp.status_code == 200
    statuses = [r["status"] for r in resp.json["results"]]
    assert statuses == [200, 200, 200, 422]  # not a handler of the electricity department
    assert client.post("/api/v1/tickets/bulk/assignee", headers=auth("handler"),
                       json={"ticket_ids": [tickets[0]["_id"]], "assignee": None}
                       ).status_code == 403
    load = client.get("/api/v1/owners/load?department=so_xay_dung",
                      headers=auth("supervisor")).json["items"]
    mine = next(r for r in load if r["user"] == H1)
    assert mine["open"] == 3
    due = min(t["expected_resolution_at"] for t in tickets)
    from datetime import datetime
    assert datetime.fromisoformat(mine["oldest_due"]) == due
    assert client.get("/api/v1/owners/load", headers=auth("handler")).status_code == 403


def test_rerouting_clears_the_owner(client, make_ticket):
    t = make_ticket()
    client.post(f"/api/v1/tickets/{t['_id']}/take", headers=auth("handler"))
    moved = client.post(f"/api/v1/tickets/{t['_id']}/reroute", json={"category": "electricity"},
                        headers=auth("handler"))
    assert moved.status_code == 200
    assert moved.json["assignee"] is None


def test_handler_stats_for_supervisors_only(client, make_ticket, clock):
    t = make_ticket()
    client.post(f"/api/v1/tickets/{t['_id']}/take", headers=auth("handler"))
    clock.advance(hours=2)
    client.post(f"/api/v1/tickets/{t['_id']}/transitions", json={"to": "resolved"},
                headers=auth("handler"))
    stats = client.get("/api/v1/owners/stats?days=7", headers=auth("supervisor"))
    row = next(r for r in stats.json["items"] if r["user"] == H1)
    assert (row["resolved"], row["on_time"], row["median_hours"]) == (1, 1, 2.0)
    for role in ("handler", "other_handler", "operator"):
        denied = client.get("/api/v1/owners/stats", headers=auth(role))
        assert denied.status_code == 403 and H1 not in denied.get_data(as_text=True)


def test_round_robin_on_arrival(app, tdb, config, clock):
    from services.tracker.app import create_app
    from services.tracker.config import ConfigSource
    from services.tracker.worker import store_tickets
    from tests.tracker.conftest import classified

    config = _config_with_second_handler(config)

    def _store(*, db, config, events, now):
        store_tickets(events, now, db=db, source=ConfigSource.fixed(config))

    client = create_app(app.extensions["tracker"].settings, clock=clock,
                        config=config).test_client()
    # off by default: nothing is assigned
    _store(db=tdb, config=config, events=[classified(at=clock())], now=clock())
    assert tdb[TICKETS].count_documents({"assignee": {"$ne": None}}) == 0
    assert client.put("/api/v1/owners/round-robin/so_xay_dung", json={"enabled": True},
                      headers=auth("supervisor")).status_code == 200
    for token in ("demo-handler-so_xay_dung", "demo-handler-2"):
        assert client.put("/api/v1/owners/me/availability", json={"available": True},
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
    _store(db=tdb, config=config, events=[classified(at=clock()) for _ in range(4)],
           now=clock())
    owners_seen = [t["assignee"] for t in tdb[TICKETS].find({"assignee": {"$ne": None}})]
    assert sorted(owners_seen) == sorted([H1, H2, H1, H2])
    last = tdb[TICKETS].find_one({"assignee": H1})["history"][-1]
    assert last["owner_change"] == {"from": None, "to": H1} and last["by"] == "system"
    # unavailable handlers get nothing
    client.put("/api/v1/owners/me/availability", json={"available": False},
               headers={"Authorization": "Bearer demo-handler-2"})
    _store(db=tdb, config=config, events=[classified(at=clock()) for _ in range(2)],
           now=clock())
    assert tdb[TICKETS].count_documents({"assignee": H2}) == 2
    assert tdb[TICKETS].count_documents({"assignee": H1}) == 4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True),
       st.sets(st.sampled_from(["a", "b", "c", "d"])), st.integers(1, 30))
def test_round_robin_turns_fairly(candidates, available, rounds):
    """Whoever is available, the picks go round: after any number of tickets no available
    handler has two more than another, and nobody unavailable gets one."""
    presence = {u: {"available": u in available} for u in candidates}
    counts = dict.fromkeys(candidates, 0)
    for i in range(rounds):
        user = owners.next_handler(candidates=candidates, presence=presence)
        if not set(candidates) & available:
            assert user is None
            return
        assert user in available
        counts[user] += 1
        presence[user]["turn"] = 1 + max(p.get("turn", 0) for p in presence.values())
    got = [counts[u] for u in candidates if u in available]
    assert max(got) - min(got) <= 1


OPS = st.lists(st.sampled_from(["take1", "take2", "give1", "give2", "free", "reroute",
                                "back", "resolve"]), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # a new ticket each
@given(ops=OPS)
def test_owner_rules_hold_for_any_sequence(ops, tdb, config, clock):
    """Whatever handlers and supervisors do, in any order: at most one owner, always a
    handler of the ticket's current department, and the history's owner changes chain from
    nobody to the current owner."""
    from services.tracker.staff import Principal
    from services.tracker.tickets import service as tickets
    from tests.helpers import create_from_classified
    from tests.tracker.conftest import classified

    config = _config_with_second_handler(config)
    h1 = Principal(H1, "handler", "so_xay_dung")
    h2 = Principal(H2, "handler", "so_xay_dung")
    boss = Principal("supervisor.minh", "supervisor")
    ticket, _ = create_from_classified(db=tdb, config=config,
                                       event=classified(at=clock()), now=clock())
    tid = ticket["_id"]
    for op in ops:
        try:
            if op in ("take1", "take2"):
                owners.take(db=tdb, config=config, principal=h1 if op == "take1" else h2,
                            ticket_id=tid, now=clock())
            elif op in ("give1", "give2", "free"):
                to = {"give1": H1, "give2": H2, "free": None}[op]
                owners.give(db=tdb, config=config, principal=boss, ticket_id=tid,
                            assignee=to, now=clock())
            elif op in ("reroute", "back"):
                tickets.reroute(db=tdb, config=config, principal=boss, ticket_id=tid,
                                category="electricity" if op == "reroute" else "traffic",
                                department=None, note=None, now=clock())
            else:
                tickets.transition(db=tdb, config=config, principal=boss, ticket_id=tid,
                                   to_state="resolved", note=None, public=False, now=clock())
        except (tickets.Conflict, tickets.NotAllowed, tickets.Forbidden,
                tickets.TicketNotFound, tickets.IllegalTransition):
            pass
        stored = tdb[TICKETS].find_one({"_id": tid})
        owner = stored.get("assignee")
        if owner is not None:
            assert owner in {p.user for p in owners.handlers_of(config.staff,
                                                                 stored["department"])}
        chain = [h["owner_change"] for h in stored["history"] if h.get("owner_change")]
        previous = None
        for change in chain:
            if change["from"] != previous:  # a department move cleared the owner
                assert change["from"] is None
            previous = change["to"]
        moved_after = [h for h in stored["history"] if h.get("department")]
        if chain and moved_after and moved_after[-1]["seq"] > max(
                h["seq"] for h in stored["history"] if h.get("owner_change")):
            assert owner is None
        elif chain:
            assert owner == chain[-1]["to"]
