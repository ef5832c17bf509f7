"""Every page renders, in both languages, with the roles that may see it; the happy paths of
the resident's and the staff's forms."""

from __future__ import annotations

import re

import pytest

from services.tracker.store import TICKETS
from services.tracker.tickets import service
from services.tracker.tickets.service import SYSTEM
from tests.web.conftest import USERS, csrf_of

REPORT = {"description": "Đường Lê Văn Sỹ đoạn gần chợ bị ngập sâu sau cơn mưa chiều nay.",
          "district": "q3", "category": "flooding", "address": "120 Lê Văn Sỹ",
          "lat": "10.79", "long": "106.67", "name": "Nguyễn Văn An", "phone": "0901234567"}


def test_resident_files_a_report_and_follows_it(resident, db):
    page = resident.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gửi phản ánh" in html and 'lang="vi"' in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    sent = resident.post("/", data={**REPORT, "csrf_token": csrf_of(html),
                                    "submission": "abcdefgh12345678"})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    confirmation = resident.get(sent.headers["Location"]).get_data(as_text=True)
    code = re.search(r'id="tracking-code">([^<]+)<', confirmation).group(1)
    stored = db.reports.find_one({"tracking_code": code})
    assert stored["channel"] == "web" and stored["category_hint"] == "flooding"
    assert stored["location"] == {"lat": 10.79, "long": 106.67}
    assert "0901234567" not in str(stored)  # encrypted like the API's reports
    again = resident.post("/", data={**REPORT, "csrf_token": csrf_of(html),
                                     "submission": "abcdefgh12345678"})
    assert again.headers["Location"] == sent.headers["Location"]  # a double click: one report
    assert db.reports.count_documents({}) == 1
    track = resident.get(f"/track/{code}")
    assert track.status_code == 200 and "Đã tiếp nhận" in track.get_data(as_text=True)
    lookup = resident.get(f"/track?code={code.lower()}")
    assert lookup.status_code == 303 and lookup.headers["Location"].endswith(f"/track/{code}")


def test_language_switch_is_remembered(resident):
    english = resident.get("/?lang=en").get_data(as_text=True)
    assert "File a report" in english and 'lang="en"' in english
    assert "File a report" in resident.get("/track").get_data(as_text=True)
    assert "Gửi phản ánh" in resident.get("/?lang=vi").get_data(as_text=True)


def test_accept_language_picks_english(intake_app):
    page = intake_app.test_client().get("/", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert "File a report" in page.get_data(as_text=True)


def test_resident_form_needs_the_csrf_token(resident, db):
    resident.get("/")
    refused = resident.post("/", data=REPORT)
    assert refused.status_code == 400
    assert "tải lại trang" in refused.get_data(as_text=True)
    assert db.reports.count_documents({}) == 0


def test_staff_pages_need_a_login(tracker_app):
    client = tracker_app.test_client()
    for path in ("/staff/operator", "/staff/queue", "/staff/dashboard", "/staff/triage",
                 "/staff/dashboard/departments.csv"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]


def test_login_sets_a_safe_session_cookie_and_logout_ends_it(tracker_app):
    client = tracker_app.test_client()
    page = client.get("/staff/login")
    answer = client.post("/staff/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                               "user": "handler.xaydung",
                                               "password": "demo1022"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/queue"
    cookie = answer.headers["Set-Cookie"]
    assert "staff_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    queue = client.get("/staff/queue")
    assert queue.status_code == 200
    token = csrf_of(queue.get_data(as_text=True))
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/staff/queue").status_code == 302


def test_api_tokens_still_work(tracker_app):
    answer = tracker_app.test_client().get(
        "/api/v1/me", headers={"Authorization": "Bearer demo-handler-so_xay_dung"})
    assert answer.json["user"] == "handler.xaydung"


@pytest.mark.parametrize(("role", "path", "status"), [
    ("handler", "/staff/dashboard", 403), ("handler", "/staff/operator", 403),
    ("operator", "/staff/dashboard", 403), ("supervisor", "/staff/dashboard", 200),
    ("supervisor", "/staff/operator", 200), ("operator", "/staff/triage", 200),
    ("handler", "/staff/queue", 200), ("admin", "/staff/dashboard/departments.csv", 200),
])
def test_roles_see_their_pages(staff, role, path, status):
    client, _ = staff(role)
    assert client.get(path).status_code == status


def test_handler_works_a_ticket(staff, make_ticket, db):
    ticket = make_ticket()
    make_ticket(category="electricity")  # another department's: not in this queue
    client, token = staff("handler")
    queue = client.get("/staff/queue").get_data(as_text=True)
    assert ticket["tracking_code"] in queue and queue.count('name="ticket_ids"') == 1
    url = f"/staff/tickets/{ticket['_id']}"
    assert client.get(url).status_code == 200
    moved = client.post(f"{url}/transition", data={"csrf_token": token, "to": "in_progress"})
    assert moved.status_code == 303
    noted = client.post(f"{url}/note", data={"csrf_token": token, "note": "Đã cử tổ kiểm tra",
                                             "public": "1"})
    assert noted.status_code == 303
    done = client.post(f"{url}/transition", data={
        "csrf_token": token, "to": "resolved", "note": "Đã sửa xong đèn", "public": "1"})
    assert done.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "Đã giải quyết" in page and "Đã sửa xong đèn" in page and "công khai" in page
    stored = db[TICKETS].find_one({"_id": ticket["_id"]})
    assert stored["state"] == "resolved" and stored["history"][-1]["public"] is True


def test_bulk_reroute_and_duplicate(staff, make_ticket, db):
    first, second, third = make_ticket(), make_ticket(), make_ticket()
    client, token = staff("handler")
    bulk = client.post("/staff/queue/bulk", data={
        "csrf_token": token, "ticket_ids": [first["_id"], second["_id"]], "to": "in_progress",
        "back": "sla_state=on_track"})
    assert bulk.status_code == 303 and bulk.headers["Location"].endswith("?sla_state=on_track")
    assert db[TICKETS].count_documents({"state": "in_progress"}) == 2
    rerouted = client.post(f"/staff/tickets/{third['_id']}/reroute", data={
        "csrf_token": token, "category": "electricity", "note": "Trụ điện, không phải đèn"})
    assert rerouted.status_code == 303
    assert db[TICKETS].find_one({"_id": third["_id"]})["department"] == "dien_luc"
    dup = client.post(f"/staff/tickets/{second['_id']}/duplicate", data={
        "csrf_token": token, "original": first["tracking_code"]})
    assert dup.status_code == 303
    assert db[TICKETS].find_one({"_id": second["_id"]})["state"] == "duplicate"


def test_operator_triages(staff, make_ticket, db):
    unsure = make_ticket(needs_triage=True, confidence=0.41,
                         top3=[("traffic", 0.41), ("construction", 0.33), ("noise", 0.1)])
    client, token = staff("operator")
    page = client.get("/staff/triage").get_data(as_text=True)
    assert unsure["tracking_code"] in page and "41%" in page
    done = client.post(f"/staff/triage/{unsure['_id']}", data={
        "csrf_token": token, "category": "construction", "district": "q3"})
    assert done.status_code == 303
    assert db[TICKETS].find_one({"_id": unsure["_id"]})["department"] == "so_xay_dung"


@pytest.mark.parametrize("page", ["/staff/dashboard", "/staff/dashboard/departments.csv",
                                  "/staff/team"])
def test_a_window_that_is_no_number_shows_the_default(staff, page):
    """'?days=²' passed str.isdigit() but not int(): the page was a 500."""
    client, _ = staff("supervisor")
    assert client.get(f"{page}?days=²").status_code == 200


def test_dashboard_and_csv(staff, make_ticket, db, config, clock):
    ticket = make_ticket()
    service.transition(db=db, config=config, principal=SYSTEM, ticket_id=ticket["_id"],
                       to_state="resolved", note=None, public=False, now=clock())
    client, _ = staff("supervisor")
    page = client.get("/staff/dashboard").get_data(as_text=True)
    assert "Sở Xây dựng" in page and "100,0%" in page and "<svg" in page
    assert client.get("/staff/dashboard/breaches").status_code == 200
    csv = client.get("/staff/dashboard/departments.csv?days=7")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("department,backlog")
    assert lines[1].startswith("so_xay_dung,0,0,1,1.0")


def test_the_dashboard_shows_the_latest_breaches_and_links_the_full_list(
        staff, make_ticket, db, config, clock, monkeypatch):
    """Issue 19: the dashboard's list is bounded (the latest breaches, the count from the
    counters) and the full list, most overdue first, is a page of its own."""
    from services.tracker.monitor import sweep
    from services.tracker.pages import views_supervisor

    tickets = []
    for category in ("traffic", "traffic", "electricity"):
        tickets.append(make_ticket(category=category))
        clock.advance(hours=1)
    clock.advance(days=20)
    sweep(db=db, config=config, now=clock())
    codes = [t["tracking_code"] for t in tickets]  # most overdue first
    client, _ = staff("supervisor")
    monkeypatch.setattr(views_supervisor, "BREACH_ROWS", 2)
    page = client.get("/staff/dashboard/breaches").get_data(as_text=True)
    assert 'id="breach-count">(3)' in page and 'id="all-breaches"' in page
    assert codes[2] in page and codes[1] in page and codes[0] not in page
    assert page.index(codes[2]) < page.index(codes[1])  # the latest breach first
    monkeypatch.setattr(views_supervisor, "BREACH_PAGE_ROWS", 2)
    first = client.get("/staff/breaches").get_data(as_text=True)
    assert 'id="breach-count">(3)' in first
    assert first.index(codes[0]) < first.index(codes[1]) and codes[2] not in first
    second = client.get("/staff/breaches?page=2").get_data(as_text=True)
    assert codes[2] in second and codes[0] not in second
    department = tickets[2]["department"]
    only = client.get(f"/staff/breaches?department={department}").get_data(as_text=True)
    assert codes[2] in only and codes[0] not in only and 'id="breach-count">(1)' in only
    assert client.get("/staff/breaches?page=x").status_code == 200
    handler, _ = staff("handler")
    assert handler.get("/staff/breaches").status_code in (302, 403)


def test_every_user_in_the_demo_directory_can_log_in(config):
    for user in USERS.values():
        assert config.staff.login(user, "demo1022").user == user
    assert config.staff.login("handler.xaydung", "wrong") is None
    assert config.staff.login("nobody", "demo1022") is None
    assert config.staff.login("intake", "") is None


def test_dashboard_counts_a_ticket_closed_while_waiting_and_explains_its_figures(
        staff, make_ticket, db, config, clock):
    """Issue 13: assigned -> waiting_citizen -> closed is a finished ticket, and the page
    says how each figure is counted."""
    ticket = make_ticket()
    for to in ("waiting_citizen", "closed"):
        service.transition(db=db, config=config, principal=SYSTEM, ticket_id=ticket["_id"],
                           to_state=to, note=None, public=False, now=clock())
    client, _ = staff("supervisor")
    page = client.get("/staff/dashboard").get_data(as_text=True)
    assert 'id="figures-help"' in page and "Cách tính các số liệu" in page
    assert "lần giải quyết sau cùng" in page  # a reopened ticket: its last resolution
    csv = client.get("/staff/dashboard/departments.csv?days=7").get_data(as_text=True)
    assert csv.lstrip("\ufeff").splitlines()[1].startswith("so_xay_dung,0,0,1,1.0")


@pytest.mark.parametrize("page", ["²", "٣", "99999999999999999999999", "0", "-1", "1.5"])
@pytest.mark.parametrize("path", ["/staff/breaches", "/staff/queue"])
def test_a_malformed_page_number_shows_the_first_page(staff, path, page):
    """"²" passes str.isdigit and fails int(); a page past int64 could not be sent as a skip
    to the store: both answered 500 on the breach page, "²" on the queue too."""
    client, _ = staff("supervisor")
    answer = client.get(path, query_string={"page": page})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]


def test_the_breach_lists_read_about_their_rows_however_many_are_breached(
        staff, tracker_app, db, config, clock, monkeypatch):
    """Issue 19: the full list's first page, the dashboard's list and the API each read, by
    the store's own explain, about the rows they show, with 905 open breaches. Old code: the
    page and the API read every open breach (a sorted, limited query: the embedded store
    reads all its matches, and explain counted the whole collection for its filter)."""
    from datetime import timedelta

    from pymongo.collection import Collection

    from services.tracker.stats import counters

    now, tz = clock(), config.business.tz
    docs = [{"_id": f"b{i:04d}", "tracking_code": f"HCM-B-{i:04d}", "state": "in_progress",
             "department": "so_xay_dung", "category": "traffic", "district": "q3",
             "channel": "web", "description": "Đèn giao thông hỏng",
             "created_at": now - timedelta(days=40), "started_at": now - timedelta(days=40),
             "updated_at": now - timedelta(days=40),
             "breach_at": now - timedelta(minutes=30 * (i + 1)) - timedelta(
                 days=3 * 365 if i < 5 else 0),
             "expected_resolution_at": now - timedelta(days=1), "sla": {"breached": True},
             "history": [{"note": "x" * 200}]} for i in range(905)]
    db[TICKETS].insert_many(docs)
    total: counters.Contribution = counters.Counter()
    for doc in docs:
        total.update(counters.contribution(doc, {}, tz))
    counters.replace(db, counters.by_document(total))
    filters: list[dict] = []
    find = Collection.find

    def recording(self, filter_=None, *args, **kwargs):
        if self.name == TICKETS:
            filters.append(filter_ or {})
        return find(self, filter_, *args, **kwargs)

    monkeypatch.setattr(Collection, "find", recording)

    def examined() -> int:
        found = sum(db.command("explain", {"find": TICKETS, "filter": f},
                               verbosity="executionStats")["executionStats"][
                                   "totalDocsExamined"] for f in filters)
        filters.clear()
        return found

    client, _ = staff("supervisor")
    examined()
    first = client.get("/staff/breaches").get_data(as_text=True)
    assert 'id="breach-count">(905)' in first and "HCM-B-0004" in first
    assert examined() <= 50 + 2
    last = client.get("/staff/breaches?page=19").get_data(as_text=True)
    assert "HCM-B-0005" in last and "HCM-B-0010" not in last and "HCM-B-0904" not in last
    assert examined() <= 50 + 2
    fragment = client.get("/staff/dashboard/breaches").get_data(as_text=True)
    assert "HCM-B-0005" in fragment and 'id="breach-count">(905)' in fragment
    assert examined() <= 20 + 2
    api = tracker_app.test_client().get("/api/v1/breaches",
                                        headers={"Authorization": "Bearer demo-supervisor"})
    assert api.json["total"] == 500
    assert [t["tracking_code"] for t in api.json["items"][:6]] == [
        "HCM-B-0004", "HCM-B-0003", "HCM-B-0002", "HCM-B-0001", "HCM-B-0000", "HCM-B-0904"]
    assert examined() <= 500 + 2


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_breach_row_shows_its_names_and_due_time_in_the_pages_language(
        staff, make_ticket, db, config, clock, lang):
    """The rows' names and due time are written in the view (once a request), not the
    template: each cell as the catalogue and Babel write it, in the page's language."""
    from babel.dates import format_datetime
    from markupsafe import escape

    from services.tracker.monitor import sweep
    from shared.web.i18n import department_label, label

    ticket = make_ticket(category="traffic", district="q3")
    clock.advance(days=20)
    sweep(db=db, config=config, now=clock())
    stored = db[TICKETS].find_one({"_id": ticket["_id"]})
    due = stored["expected_resolution_at"].astimezone(config.business.tz)
    cells = [department_label(stored["department"], lang), label("category", "traffic", lang),
             format_datetime(due, "short", locale=lang), label("state", stored["state"], lang)]
    row = "<td>{}</td><td>{}</td>\n    <td>{}</td><td>{}</td></tr>".format(
        *(escape(c) for c in cells))
    client, _ = staff("supervisor")
    for path in ("/staff/dashboard/breaches", "/staff/breaches", "/staff/dashboard"):
        page = client.get(f"{path}?lang={lang}").get_data(as_text=True)
        assert ticket["tracking_code"] in page and row in page, path
