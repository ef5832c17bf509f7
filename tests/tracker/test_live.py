"""Live pages (issue 20): the store's change stream becomes Server-Sent Events for the pages
each person may see; who else has a ticket open; the stream ends on logout and when the
worker stops."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.tracker.alerts import store as notifications
from services.tracker.live import presence
from services.tracker.live.events import LiveEvent, Subscription, delivers, from_change
from services.tracker.live.hub import Hub, LiveConfig
from services.tracker.owners import service as owners
from services.tracker.staff import Principal, Role
from services.tracker.store import NOTIFICATIONS, TICKETS, VIEWERS
from services.tracker.tickets import service
from tests.helpers import live_server, wait_until
from tests.live_support import SseReader, session_cookie

DEPARTMENTS = ("so_xay_dung", "dien_luc", "cap_nuoc", None)
HANDLER = Principal("handler.xaydung", Role.HANDLER, "so_xay_dung")


def _ns(coll: str) -> dict:
    return {"db": "x", "coll": coll}


# --- the change stream's documents as events ----------------------------------------------

@pytest.mark.parametrize(("change", "expected"), [
    ({"operationType": "insert", "ns": _ns(TICKETS), "documentKey": {"_id": "t1"},
      "fullDocument": {"department": "dien_luc"}},
     LiveEvent("ticket", "t1", "dien_luc", what=("new",))),
    ({"operationType": "update", "ns": _ns(TICKETS), "documentKey": {"_id": "t1"},
      "fullDocument": {"department": "so_xay_dung"},
      "updateDescription": {"updatedFields": {"assignee": "a", "seq": 4, "history.3": {}}}},
     LiveEvent("ticket", "t1", "so_xay_dung", what=("history", "owner"))),
    ({"operationType": "update", "ns": _ns(TICKETS), "documentKey": {"_id": "t1"},
      "fullDocument": {"department": "so_xay_dung"},
      "updateDescription": {"updatedFields": {"sla.state": "breached", "alerted": []}}},
     LiveEvent("ticket", "t1", "so_xay_dung", what=("sla",))),
    # the figures' hash and search bookkeeping change nothing a page shows
    ({"operationType": "update", "ns": _ns(TICKETS), "documentKey": {"_id": "t1"},
      "fullDocument": {"department": "so_xay_dung"},
      "updateDescription": {"updatedFields": {"figures_hash": "x", "words": ["a"]}}},
     None),
    ({"operationType": "delete", "ns": _ns(TICKETS), "documentKey": {"_id": "t1"}},
     LiveEvent("ticket", "t1", None, what=("changed",))),
    ({"operationType": "insert", "ns": _ns(NOTIFICATIONS), "documentKey": {"_id": "e:u"},
      "fullDocument": {"user": "u"}}, LiveEvent("notifications", user="u")),
    ({"operationType": "delete", "ns": _ns(VIEWERS), "documentKey": {"_id": "t1:someone"}},
     LiveEvent("viewers", "t1")),
    ({"operationType": "update", "ns": _ns(VIEWERS), "documentKey": {"_id": "t1:someone"},
      "fullDocument": {"ticket_id": "t1"},
      "updateDescription": {"updatedFields": {"expires_at": 1}}}, None),
    ({"operationType": "insert", "ns": _ns("figure_counters"), "documentKey": {"_id": 1}},
     None),
])
def test_changes_become_events(change, expected):
    assert from_change(change) == expected


def test_events_carry_no_text():
    event = from_change({"operationType": "insert", "ns": _ns(TICKETS),
                         "documentKey": {"_id": "t1"},
                         "fullDocument": {"department": "d", "description": "Nhà số 5 ...",
                                          "address": "5 Lê Lợi"}})
    assert event.data() == {"ticket": "t1", "what": ["new"]}


# --- who hears what, for every sequence of events ---------------------------------------

ticket_ids = st.sampled_from(["t1", "t2", "t3", "t4"])
ticket_events = st.builds(lambda i, d, w: LiveEvent("ticket", i, d, what=(w,)), ticket_ids,
                          st.sampled_from(DEPARTMENTS),
                          st.sampled_from(["new", "state", "owner", "department", "changed"]))
other_events = st.one_of(
    st.builds(lambda u: LiveEvent("notifications", user=u),
              st.sampled_from(["handler.xaydung", "handler.dienluc", "supervisor.minh"])),
    st.builds(lambda i: LiveEvent("viewers", i), ticket_ids))


@settings(max_examples=300, deadline=None)
@given(view=st.sampled_from(["page", "queue", "ticket", "dashboard"]),
       watch=st.sets(ticket_ids, max_size=3),
       events=st.lists(st.one_of(ticket_events, other_events), max_size=30))
def test_a_handler_never_hears_another_departments_tickets(view, watch, events):
    """A handler hears of a ticket of another department only if their page showed it, and
    then once (the event that took it away); never of others' notifications."""
    sub = Subscription(HANDLER, view, set(watch))
    told_away: list[str] = []
    for event in events:
        watched = event.ticket_id in sub.watch
        heard = delivers(sub, event)
        if event.kind == "notifications":
            assert heard == (event.user == HANDLER.user)
        elif event.kind == "viewers":
            assert heard == (view == "ticket" and watched)
        elif event.department != HANDLER.department:
            assert heard == watched
            if heard:
                told_away.append(event.ticket_id)
                assert event.ticket_id not in sub.watch
        elif view == "dashboard" and not watched:
            assert heard == (event.what[0] in {"new", "state", "sla", "changed"})
        else:
            assert heard == (watched or view == "queue")
    assert len(told_away) == len(set(told_away))
    assert set(told_away) <= set(watch)


@given(events=st.lists(ticket_events, max_size=20))
def test_roles_that_see_everything_hear_every_ticket_on_a_queue(events):
    for role in (Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR):
        sub = Subscription(Principal("x", role), "queue")
        assert all(delivers(sub, e) for e in events)


# --- presence ---------------------------------------------------------------------------

def test_viewers_expire_on_the_injected_clock(tdb, clock):
    presence.touch(tdb, ticket_id="t1", user="a", now=clock())
    presence.touch(tdb, ticket_id="t1", user="b", now=clock())
    presence.touch(tdb, ticket_id="t2", user="c", now=clock())
    assert presence.viewers(tdb, ticket_id="t1", now=clock()) == ["a", "b"]
    assert presence.viewers(tdb, ticket_id="t1", now=clock(), without="a") == ["b"]
    clock.advance(seconds=presence.TTL.total_seconds() - 1)
    presence.touch(tdb, ticket_id="t1", user="a", now=clock())  # a's page is still open
    clock.advance(seconds=2)
    assert presence.viewers(tdb, ticket_id="t1", now=clock()) == ["a"]
    presence.leave(tdb, ticket_id="t1", user="a")
    assert presence.viewers(tdb, ticket_id="t1", now=clock()) == []


# --- end to end over HTTP -----------------------------------------------------------------

def _fast(app) -> Hub:
    hub = app.extensions["tracker_live"]
    hub.config = LiveConfig(keepalive_s=0.2, presence_beat_s=0.2, max_streams=3)
    return hub


def _first(reader: SseReader, kind: str, timeout: float = 3.0, **match) -> dict | None:
    found: list[dict] = []

    def seen() -> bool:
        found[:] = [d for d in reader.events(kind)
                    if all(d.get(k) == v for k, v in match.items())]
        return bool(found)

    return found[0] if wait_until(seen, timeout, 0.02) else None


def test_two_handlers_see_a_take_and_each_other(app, tdb, config, clock, make_ticket):
    _fast(app)
    ticket = make_ticket(description="Đường Nguyễn Hữu Cảnh ngập sâu sau mưa lớn chiều nay.")
    with live_server(app) as url:
        me = session_cookie(app.test_client(), "handler")
        colleague = session_cookie(app.test_client(), "handler")
        queue = SseReader(f"{url}/staff/live?view=queue", me).start()
        page = SseReader(f"{url}/staff/live?view=ticket&watch={ticket['_id']}", me).start()
        assert queue.opened.wait(5) and page.opened.wait(5)
        assert _first(page, "viewers")["users"] == []
        other = SseReader(f"{url}/staff/live?view=ticket&watch={ticket['_id']}",
                          colleague).start()  # the same user in another browser: not "else"
        assert other.opened.wait(5)
        started = time.monotonic()
        owners.take(db=tdb, config=config, principal=HANDLER, ticket_id=ticket["_id"],
                    now=clock())
        heard = _first(queue, "ticket", ticket=ticket["_id"])
        assert heard is not None and "owner" in heard["what"]
        assert time.monotonic() - started < 2.0
        assert _first(page, "ticket", ticket=ticket["_id"]) is not None
        body = "".join(str(f.data) for f in queue.frames)
        assert ticket["description"] not in body and ticket["tracking_code"] not in body
        for reader in (queue, page, other):
            reader.close()


def test_viewers_come_and_go(app, tdb, make_ticket, clock):
    _fast(app)
    ticket = make_ticket()
    with live_server(app) as url:
        mine = SseReader(f"{url}/staff/live?view=ticket&watch={ticket['_id']}",
                         session_cookie(app.test_client(), "handler")).start()
        assert mine.opened.wait(5)
        theirs = SseReader(f"{url}/staff/live?view=ticket&watch={ticket['_id']}",
                           session_cookie(app.test_client(), "supervisor")).start()
        assert _first(mine, "viewers", users=["supervisor.minh"]) is not None
        assert presence.viewers(tdb, ticket_id=ticket["_id"], now=clock()) == [
            "handler.xaydung", "supervisor.minh"]
        theirs.close()  # the stream notices at its next keep-alive and leaves
        assert _first(mine, "viewers", users=[], timeout=5) is not None
        mine.close()


def test_unread_count_is_live_and_only_ones_own(app, tdb, clock):
    _fast(app)
    with live_server(app) as url:
        mine = SseReader(f"{url}/staff/live", session_cookie(app.test_client(),
                                                             "handler")).start()
        theirs = SseReader(f"{url}/staff/live", session_cookie(app.test_client(),
                                                               "other_handler")).start()
        assert mine.opened.wait(5) and theirs.opened.wait(5)
        assert mine.events("unread") == [{"unread": 0}]
        notifications.insert_notifications(tdb, [{
            "_id": "e1:handler.xaydung", "user": "handler.xaydung", "read_at": None,
            "created_at": clock()}])
        assert _first(mine, "unread", unread=1) is not None
        notifications.mark_read(tdb, user="handler.xaydung", notification_id=None,
                                now=clock())
        assert wait_until(lambda: mine.events("unread")[-1] == {"unread": 0}, 3, 0.02)
        assert theirs.events("unread") == [{"unread": 0}]
        mine.close()
        theirs.close()


def test_logout_and_worker_stop_end_the_stream(app, tdb):
    hub = _fast(app)
    with live_server(app) as url:
        client = app.test_client()
        cookie = session_cookie(client, "handler")
        reader = SseReader(f"{url}/staff/live", cookie).start()
        assert reader.opened.wait(5)
        page = client.get("/staff/queue").get_data(as_text=True)
        from tests.web.conftest import csrf_of

        client.post("/staff/logout", data={"csrf_token": csrf_of(page)})
        assert _first(reader, "bye", reason="logged_out") is not None
        assert wait_until(lambda: hub.open_pages == 0, 3)
        again = SseReader(f"{url}/staff/live", session_cookie(app.test_client(),
                                                              "supervisor")).start()
        assert again.opened.wait(5)
        hub.close()  # what gunicorn's SIGTERM does (shared/web/lifecycle.py)
        assert _first(again, "bye", reason="restart") is not None
        reader.close()
        again.close()


def test_stream_refusals(app, tdb, make_ticket):
    _fast(app)
    elsewhere = make_ticket(category="electricity")
    too_many = ",".join(f"t{i}" for i in range(61))
    with live_server(app) as url:
        import requests

        handler = session_cookie(app.test_client(), "handler")
        assert requests.get(f"{url}/staff/live", timeout=5, stream=True).status_code == 401
        for query, status in ((f"view=ticket&watch={elsewhere['_id']}", 404),
                              ("view=dashboard", 403), ("view=nope", 400),
                              ("view=ticket", 400), (f"watch={too_many}", 400)):
            resp = requests.get(f"{url}/staff/live?{query}", cookies=handler, timeout=5,
                                stream=True)
            resp.close()
            assert (query, resp.status_code) == (query, status)
            assert resp.headers["Content-Type"].startswith("application/problem+json")
        readers = [SseReader(f"{url}/staff/live", handler).start() for _ in range(3)]
        assert all(r.opened.wait(5) for r in readers)
        full = requests.get(f"{url}/staff/live", cookies=handler, timeout=5, stream=True)
        full.close()
        assert (full.status_code, full.headers.get("Retry-After")) == (503, "30")
        for reader in readers:
            reader.close()


def test_a_transition_reaches_the_dashboard(app, tdb, config, clock, make_ticket):
    _fast(app)
    ticket = make_ticket()
    with live_server(app) as url:
        board = SseReader(f"{url}/staff/live?view=dashboard",
                          session_cookie(app.test_client(), "supervisor")).start()
        assert board.opened.wait(5)
        service.transition(db=tdb, config=config, principal=HANDLER, ticket_id=ticket["_id"],
                           to_state="in_progress", note=None, public=False, now=clock())
        heard = _first(board, "ticket", ticket=ticket["_id"])
        assert heard is not None and "state" in heard["what"]
        board.close()


def test_gunicorn_threads_for_open_pages(monkeypatch):
    from shared.service_main import gunicorn_argv

    monkeypatch.setenv("GUNICORN_THREADS", "8")
    argv = gunicorn_argv("services.tracker.app:create_app", long_lived=200)
    assert argv[argv.index("--threads") + 1] == "208"
    assert "--threads" not in gunicorn_argv("services.intake.app:create_app")


def test_sigterm_ends_open_pages_at_once(env, tdb):
    """gunicorn waits up to its graceful timeout (20 s here) for open requests; the worker's
    SIGTERM ends the live pages first (shared/web/lifecycle.py), so it stops in seconds."""
    import os
    import signal
    import subprocess

    import requests

    from shared.devstack import free_port
    from shared.service_main import gunicorn_argv
    from tests.live_support import http_session_cookie

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        gunicorn_argv("services.tracker.app:create_app", long_lived=4),
        env={**os.environ, **env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1",
             "GUNICORN_GRACEFUL_TIMEOUT": "20", "LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up() -> bool:
            try:
                return requests.get(f"{url}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        assert wait_until(up, 60, 0.2), "the tracker did not start"
        page = SseReader(f"{url}/staff/live", http_session_cookie(url, "handler")).start()
        assert page.opened.wait(10)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        assert time.monotonic() - started < 8
        assert _first(page, "bye", reason="restart", timeout=1) is not None
        page.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)


def test_streams_close_when_no_page_is_open_and_reopen_with_the_next(tdb, config, clock,
                                                                     make_ticket):
    """No change stream is held open for nobody (a worker without pages, a test's app)."""
    hub = Hub(tdb, config=LiveConfig(idle_stop_s=0.3))
    ticket = make_ticket()
    first = hub.subscribe(Subscription(HANDLER, "queue"))
    assert first is not None
    followers = list(hub._followers)
    hub.unsubscribe(first)
    assert wait_until(lambda: all(f.done for f in followers), 5)
    again = hub.subscribe(Subscription(HANDLER, "queue"))
    assert again is not None and hub._followers != followers
    owners.take(db=tdb, config=config, principal=HANDLER, ticket_id=ticket["_id"],
                now=clock())
    heard: list = []
    assert wait_until(lambda: heard.extend(again.take(0.1)) or any(
        getattr(e, "ticket_id", None) == ticket["_id"] for e in heard), 3)
    assert sum(getattr(e, "ticket_id", None) == ticket["_id"] for e in heard) == 1
    hub.close()
