"""Every role against every endpoint. A handler reaching for another department's ticket gets
404 and never the ticket; a missing or unknown token gets 401."""

from __future__ import annotations

import pytest

from tests.tracker.conftest import TOKENS

ROLES = ("operator", "handler", "other_handler", "supervisor", "admin", "service", "none",
         "forged")


def _endpoints(t: dict, triage: dict) -> dict[str, tuple[str, str, dict | None]]:
    return {
        "me": ("GET", "/api/v1/me", None),
        "queue": ("GET", "/api/v1/tickets", None),
        "triage_queue": ("GET", "/api/v1/triage", None),
        "detail": ("GET", f"/api/v1/tickets/{t['_id']}", None),
        "transition": ("POST", f"/api/v1/tickets/{t['_id']}/transitions",
                       {"to": "in_progress"}),
        "note": ("POST", f"/api/v1/tickets/{t['_id']}/notes", {"note": "Đã xem"}),
        "reroute": ("POST", f"/api/v1/tickets/{t['_id']}/reroute", {"category": "electricity"}),
        "triage": ("POST", f"/api/v1/tickets/{triage['_id']}/triage", {"category": "traffic"}),
        "duplicate": ("POST", f"/api/v1/tickets/{t['_id']}/duplicate",
                      {"original_id": triage["_id"]}),
        "bulk": ("POST", "/api/v1/tickets/bulk/transitions",
                 {"ticket_ids": [t["_id"]], "to": "in_progress"}),
        "rating": ("POST", f"/api/v1/citizen/{t['tracking_code']}/rating", {"score": 5}),
        "reopen": ("POST", f"/api/v1/citizen/{t['tracking_code']}/reopen",
                   {"reason": "Vẫn chưa sửa"}),
        "stats": ("GET", "/api/v1/stats/departments", None),
        "stats_csv": ("GET", "/api/v1/stats/departments.csv", None),
        "breaches": ("GET", "/api/v1/breaches", None),
        "take": ("POST", f"/api/v1/tickets/{t['_id']}/take", None),
        "assign": ("POST", f"/api/v1/tickets/{t['_id']}/assignee",
                   {"assignee": "handler.xaydung"}),
        "bulk_assign": ("POST", "/api/v1/tickets/bulk/assignee",
                        {"ticket_ids": [t["_id"]], "assignee": "handler.xaydung"}),
        "owners_load": ("GET", "/api/v1/owners/load", None),
        "owners_stats": ("GET", "/api/v1/owners/stats", None),
        "mine": ("GET", "/api/v1/tickets?assignee=none", None),
        "search_code": ("GET", f"/api/v1/tickets?q={t['tracking_code']}", None),
        "search_phone": ("GET", "/api/v1/tickets?q=0901234567", None),
    }


# role -> status per endpoint; the ticket belongs to so_xay_dung ("handler")
EXPECTED: dict[str, dict[str, int]] = {
    "operator": dict(me=200, queue=200, triage_queue=200, detail=200, transition=403,
                     note=200, reroute=403, triage=200, duplicate=200, bulk=403, rating=403,
                     reopen=403, stats=403, stats_csv=403, breaches=403,
                     take=403, assign=403, bulk_assign=403,
                     owners_load=403, owners_stats=403, mine=200,
                    search_code=200, search_phone=200),
    "handler": dict(me=200, queue=200, triage_queue=403, detail=200, transition=200,
                    note=200, reroute=200, triage=403, duplicate=200, bulk=200, rating=403,
                    reopen=403, stats=403, stats_csv=403, breaches=403,
                    take=200, assign=200, bulk_assign=403,
                    owners_load=403, owners_stats=403, mine=200,
                   search_code=200, search_phone=403),
    "other_handler": dict(me=200, queue=200, triage_queue=403, detail=404, transition=404,
                          note=404, reroute=404, triage=403, duplicate=404, bulk=200,
                          rating=403, reopen=403, stats=403, stats_csv=403, breaches=403,
                          take=404, assign=404, bulk_assign=403,
                          owners_load=403, owners_stats=403, mine=200,
                         search_code=200, search_phone=403),
    "supervisor": dict(me=200, queue=200, triage_queue=200, detail=200, transition=200,
                       note=200, reroute=200, triage=200, duplicate=200, bulk=200, rating=403,
                       reopen=403, stats=200, stats_csv=200, breaches=200,
                       take=403, assign=200, bulk_assign=200,
                       owners_load=200, owners_stats=200, mine=200,
                      search_code=200, search_phone=403),
    "admin": dict(me=200, queue=200, triage_queue=200, detail=200, transition=200, note=200,
                  reroute=200, triage=200, duplicate=200, bulk=200, rating=403, reopen=403,
                  stats=200, stats_csv=200, breaches=200,
                  take=403, assign=200, bulk_assign=200,
                  owners_load=200, owners_stats=200, mine=200,
                 search_code=200, search_phone=403),
    # intake's token: only the citizen's actions (422/409: allowed in, refused on the merits)
    "service": dict(me=200, queue=403, triage_queue=403, detail=403, transition=403,
                    note=403, reroute=403, triage=403, duplicate=403, bulk=403, rating=422,
                    reopen=409, stats=403, stats_csv=403, breaches=403,
                    take=403, assign=403, bulk_assign=403,
                    owners_load=403, owners_stats=403, mine=403,
                   search_code=403, search_phone=403),
}
EXPECTED["none"] = dict.fromkeys(EXPECTED["admin"], 401)
EXPECTED["forged"] = dict.fromkeys(EXPECTED["admin"], 401)


def _headers(role: str) -> dict[str, str]:
    if role == "none":
        return {}
    if role == "forged":
        return {"Authorization": "Bearer demo-handler-so_xay_dung-but-not-really"}
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(client, make_ticket, role):
    got: dict[str, int] = {}
    for name in EXPECTED[role]:
        ticket = make_ticket(description=f"Ổ gà lớn trên đường số {name}, xe máy dễ té ngã.")
        triage = make_ticket(needs_triage=True, confidence=0.2)
        method, path, body = _endpoints(ticket, triage)[name]
        resp = client.open(path, method=method, json=body, headers=_headers(role))
        got[name] = resp.status_code
        if resp.status_code in {401, 403, 404}:
            assert resp.mimetype == "application/problem+json"
            assert ticket["description"] not in resp.get_data(as_text=True)
        if name in {"queue", "mine", "search_code"} and role == "other_handler":
            assert ticket["_id"] not in resp.get_data(as_text=True)
        if name == "bulk" and role == "other_handler":
            [result] = resp.json["results"]
            assert (result["ticket_id"], result["status"], "state" in result) == (
                ticket["_id"], 404, False)
    assert got == EXPECTED[role]


# --- live pages (issue 20): who hears of which ticket's changes -----------------------------
# role -> which of two moved tickets its open queue page hears of: "ours" is so_xay_dung's
# (the handler's), "theirs" dien_luc's (the other handler's)
LIVE_HEARS = {"operator": {"ours", "theirs"}, "handler": {"ours"},
              "other_handler": {"theirs"}, "supervisor": {"ours", "theirs"},
              "admin": {"ours", "theirs"}}


@pytest.mark.parametrize("role", [*LIVE_HEARS, "none"])
def test_live_events_matrix(app, tdb, config, clock, make_ticket, role):
    import time

    import requests

    from services.tracker.live.hub import LiveConfig
    from services.tracker.staff import Principal, Role
    from services.tracker.tickets import service
    from tests.helpers import live_server, wait_until
    from tests.live_support import SseReader, session_cookie

    app.extensions["tracker_live"].config = LiveConfig(keepalive_s=0.2)
    tickets = {"ours": make_ticket(description="Ổ gà trên đường Lê Lợi, nhà số 12."),
               "theirs": make_ticket(category="electricity",
                                     description="Mất điện cả hẻm 45 từ chiều.")}
    boss = Principal("supervisor.minh", Role.SUPERVISOR)
    with live_server(app) as url:
        if role == "none":
            resp = requests.get(f"{url}/staff/live?view=queue", timeout=5, stream=True)
            assert resp.status_code == 401
            resp.close()
            return
        cookie = session_cookie(app.test_client(), role)
        reader = SseReader(f"{url}/staff/live?view=queue", cookie).start()
        assert reader.status == 200 and reader.opened.wait(5)
        for ticket in tickets.values():
            service.transition(db=tdb, config=config, principal=boss, ticket_id=ticket["_id"],
                               to_state="in_progress", note="Đã cử người", public=False,
                               now=clock())
        ids = {name: t["_id"] for name, t in tickets.items()}

        def heard() -> set[str]:
            got = {e["ticket"] for e in reader.events("ticket")}
            return {name for name, i in ids.items() if i in got}

        assert wait_until(lambda: heard() == LIVE_HEARS[role], 3, 0.02), heard()
        time.sleep(0.5)  # nothing else arrives later
        assert heard() == LIVE_HEARS[role]
        frames = "".join(str(f.data) for f in reader.frames)
        for ticket in tickets.values():
            assert ticket["description"] not in frames
        reader.close()
        theirs = tickets["theirs"]["_id"]
        page = requests.get(f"{url}/staff/live?view=ticket&watch={theirs}", cookies=cookie,
                            timeout=5, stream=True)
        assert page.status_code == (200 if "theirs" in LIVE_HEARS[role] else 404)
        page.close()


def test_live_a_ticket_that_leaves_the_department_is_told_once(app, tdb, config, clock,
                                                                make_ticket):
    """The handler's page showed the ticket: it hears that it left (to drop it), then
    nothing more about it."""
    from services.tracker.live.hub import LiveConfig
    from services.tracker.staff import Principal, Role
    from services.tracker.tickets import service
    from tests.helpers import live_server, wait_until
    from tests.live_support import SseReader, session_cookie

    app.extensions["tracker_live"].config = LiveConfig(keepalive_s=0.2)
    ticket = make_ticket()
    boss = Principal("supervisor.minh", Role.SUPERVISOR)
    with live_server(app) as url:
        reader = SseReader(f"{url}/staff/live?view=queue&watch={ticket['_id']}",
                           session_cookie(app.test_client(), "handler")).start()
        assert reader.opened.wait(5)
        service.reroute(db=tdb, config=config, principal=boss, ticket_id=ticket["_id"],
                        category="electricity", department=None, note=None, now=clock())
        assert wait_until(lambda: len(reader.events("ticket")) == 1, 3, 0.02)
        for to in ("in_progress", "waiting_citizen"):
            service.transition(db=tdb, config=config, principal=boss,
                               ticket_id=ticket["_id"], to_state=to, note="x", public=False,
                               now=clock())
        supervisor = SseReader(f"{url}/staff/live?view=ticket&watch={ticket['_id']}",
                               session_cookie(app.test_client(), "supervisor")).start()
        assert supervisor.opened.wait(5)
        service.add_note(db=tdb, config=config, principal=boss, ticket_id=ticket["_id"],
                         note="Đã chuyển", public=False, now=clock())
        assert wait_until(lambda: supervisor.events("ticket"), 3, 0.02)  # the rest went by
        assert [e["ticket"] for e in reader.events("ticket")] == [ticket["_id"]]
        reader.close()
        supervisor.close()
