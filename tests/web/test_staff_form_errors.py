"""Bad input in each of the staff's forms: the message next to the field, in Vietnamese, what
was typed kept; the service's refusals (an illegal move, a stale page) said the same way."""

from __future__ import annotations

import dataclasses

import pytest

from services.intake import citizen_keys
from services.intake.app import create_app as create_intake
from services.tracker.store import TICKETS
from shared.crypto import FieldCipher
from tests.helpers import live_server
from tests.web.conftest import csrf_of
from tests.web.forms import field_errors, form_values


def test_login_form_errors(tracker_app):
    client = tracker_app.test_client()
    token = csrf_of(client.get("/staff/login").get_data(as_text=True))
    empty = client.post("/staff/login", data={"csrf_token": token, "user": "", "password": ""})
    assert empty.status_code == 422
    errors = field_errors(empty.get_data(as_text=True))
    assert errors == {"user": "Vui lòng nhập mục này.", "password": "Vui lòng nhập mục này."}
    wrong = client.post("/staff/login", data={"csrf_token": token, "user": "handler.xaydung",
                                              "password": "sai-mat-khau"})
    page = wrong.get_data(as_text=True)
    assert "không đúng" in field_errors(page)["password"]
    assert form_values(page)["user"] == "handler.xaydung"  # the password is never sent back
    assert 'name="password" type="password" autocomplete="current-password" ' \
           'aria-invalid="true"' in page


def test_login_without_the_csrf_token_is_refused(tracker_app):
    client = tracker_app.test_client()
    client.get("/staff/login")
    answer = client.post("/staff/login", data={"user": "admin", "password": "demo1022"})
    assert answer.status_code == 400 and "tải lại trang" in answer.get_data(as_text=True)


def test_next_only_goes_to_staff_pages(tracker_app):
    client = tracker_app.test_client()
    token = csrf_of(client.get("/staff/login").get_data(as_text=True))
    answer = client.post("/staff/login", data={"csrf_token": token, "user": "admin",
                                               "password": "demo1022",
                                               "next": "//evil.example/staff/x"})
    assert answer.headers["Location"] == "/staff/dashboard"


CALL = {"caller_phone": "0912345678", "call_id": "c-77",
        "description": "Cống thoát nước trước nhà số 10 đường Trần Hưng Đạo bị nghẹt, nước "
                       "tràn lên mặt đường", "category": "flooding", "district": "q1",
        "address": "10 Trần Hưng Đạo"}
CALL_CASES = [
    ("no caller phone", {"caller_phone": ""}, "caller_phone", "Vui lòng nhập"),
    ("bad caller phone", {"caller_phone": "12 34"}, "caller_phone", "Số điện thoại không hợp lệ"),
    ("no call id", {"call_id": ""}, "call_id", "Vui lòng nhập"),
    ("call id with spaces", {"call_id": "cuộc gọi 7"}, "call_id", "Mã cuộc gọi chỉ gồm"),
    ("no description", {"description": ""}, "description", "Vui lòng nhập"),
    ("description too short", {"description": "Ngập"}, "description", "ít nhất 10 ký tự"),
    ("description too long", {"description": "Ngập " * 801}, "description", "tối đa 4.000"),
    ("unknown category", {"category": "weather"}, "category", "chọn một giá trị"),
    ("address too long", {"address": "x" * 301}, "address", "Tối đa 300"),
]


@pytest.fixture
def operator_with_intake(settings, clock, db, tracker_app, staff):
    """The operator's console, its submissions going to a live intake."""
    with live_server(create_intake(settings, clock=clock)) as intake_url:
        deps = tracker_app.extensions["tracker"]
        tracker_app.extensions["tracker"] = dataclasses.replace(
            deps, settings=dataclasses.replace(deps.settings, intake_url=intake_url))
        yield staff("operator")


@pytest.mark.parametrize(("case", "changes", "field", "message"), CALL_CASES,
                         ids=[c[0] for c in CALL_CASES])
def test_operator_call_form_errors(operator_with_intake, db, case, changes, field, message):
    client, token = operator_with_intake
    data = {**CALL, **changes}
    answer = client.post("/staff/operator", data={**data, "csrf_token": token,
                                                  "action": "submit", "call_nonce": case})
    assert answer.status_code == 422, case
    page = answer.get_data(as_text=True)
    assert message in field_errors(page).get(field, ""), field_errors(page)
    kept = form_values(page)
    for name in ("caller_phone", "call_id", "description", "address"):
        assert kept[name] == data[name][:8000]
    assert db.reports.count_documents({}) == 0


def test_operator_call_created(operator_with_intake, db, settings):
    client, token = operator_with_intake
    answer = client.post("/staff/operator", data={**CALL, "csrf_token": token,
                                                  "action": "submit", "call_nonce": "n1"})
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    report = db.reports.find_one({})
    assert (report["channel"], report["category_hint"], report["district"]) == (
        "call_center", "flooding", "q1")
    notice = answer.get_data(as_text=True)
    assert report["tracking_code"] in notice and "0912345678" in notice
    key = citizen_keys.stored_key(report, FieldCipher(settings.pii_keys))
    assert key and key in notice  # read out to the caller, who needs it to rate or reopen


def point_tracker_at(app, **urls: str) -> None:
    """Give the tracker's settings other service URLs (port 9: nothing answers there)."""
    deps = app.extensions["tracker"]
    app.extensions["tracker"] = dataclasses.replace(
        deps, settings=dataclasses.replace(deps.settings, **urls))


def test_intake_down_keeps_the_call(tracker_app, staff, settings):
    point_tracker_at(tracker_app, intake_url="http://127.0.0.1:9")
    client, token = staff("operator")
    answer = client.post("/staff/operator", data={**CALL, "csrf_token": token,
                                                  "action": "submit"})
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "không phản hồi" in field_errors(page)["form"]
    assert form_values(page)["description"] == CALL["description"]


def test_suggestion_without_a_classifier_is_said(tracker_app, staff):
    point_tracker_at(tracker_app, classifier_url="http://127.0.0.1:9")
    client, token = staff("operator")
    answer = client.post("/staff/operator", data={**CALL, "csrf_token": token,
                                                  "action": "suggest"})
    page = answer.get_data(as_text=True)
    assert "Chưa lấy được gợi ý" in field_errors(page)["suggestion"]
    assert form_values(page)["description"] == CALL["description"]
    js = client.post("/staff/operator/suggest", json={"text": CALL["description"]},
                     headers={"X-CSRF-Token": token})
    assert js.status_code == 503 and "gợi ý" in js.json["error"]
    assert client.post("/staff/operator/suggest", json={"text": "x"}).status_code == 400


def test_triage_form_errors(staff, make_ticket):
    ticket = make_ticket(needs_triage=True, confidence=0.4)
    client, token = staff("operator")
    for data, field, message in (
        ({"category": "", "district": "q3"}, "category", "chọn một giá trị"),
        ({"category": "traffic", "district": "q2"}, "district", "chọn một giá trị"),
        ({"category": "traffic", "note": "x" * 4001}, "note", "Tối đa 4.000"),
    ):
        answer = client.post(f"/staff/triage/{ticket['_id']}",
                             data={**data, "csrf_token": token})
        assert answer.status_code == 422
        page = answer.get_data(as_text=True)
        assert message in field_errors(page).get(field, ""), (data, field_errors(page))
        if data.get("note"):
            assert form_values(page)["note"] == data["note"]


@pytest.fixture
def handler_ticket(staff, make_ticket):
    ticket = make_ticket()
    client, token = staff("handler")
    return client, token, ticket


TICKET_CASES = [
    ("transition", {"to": ""}, "to", "chọn một giá trị"),
    ("transition", {"to": "flying"}, "to", "chọn một giá trị"),
    ("transition", {"to": "closed", "note": "Đóng luôn"}, "to", "không chuyển sang"),
    ("transition", {"to": "assigned", "note": "Giao lại"}, "to", "không chuyển sang"),
    ("transition", {"to": "in_progress", "note": "x" * 4001}, "note", "Tối đa 4.000"),
    ("note", {"note": "   "}, "note", "Vui lòng nhập"),
    ("note", {"note": "y" * 4001, "public": "1"}, "note", "Tối đa 4.000"),
    ("reroute", {"category": "", "department": "", "note": "Sai đơn vị"}, "category",
     "Chọn lĩnh vực mới hoặc đơn vị mới"),
    ("reroute", {"category": "traffic", "note": "Vẫn giao thông"}, "category",
     "đã thuộc đơn vị"),
    ("reroute", {"department": "so_bi_mat", "note": "Sai"}, "department", "chọn một giá trị"),
    ("reroute", {"category": "weather"}, "category", "chọn một giá trị"),
    ("duplicate", {"original": ""}, "original", "Vui lòng nhập"),
    ("duplicate", {"original": "HCM-2026-999999", "note": "Trùng"}, "original",
     "Không tìm thấy"),
]


@pytest.mark.parametrize(("form", "data", "field", "message"), TICKET_CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(TICKET_CASES)])
def test_ticket_form_errors(handler_ticket, db, form, data, field, message):
    client, token, ticket = handler_ticket
    answer = client.post(f"/staff/tickets/{ticket['_id']}/{form}",
                         data={**data, "csrf_token": token})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    errors = field_errors(page)
    assert message in errors.get(field, ""), errors
    kept = form_values(page, f"/{form}")
    for name in ("note", "original"):
        if name in data:
            assert kept[name] == data[name][:8000], name
    if data.get("public"):
        assert kept["public"] == "1"
    assert db[TICKETS].find_one({"_id": ticket["_id"]})["seq"] == ticket["seq"]


def test_duplicate_of_itself(handler_ticket):
    client, token, ticket = handler_ticket
    answer = client.post(f"/staff/tickets/{ticket['_id']}/duplicate",
                         data={"original": ticket["tracking_code"].lower(), "csrf_token": token})
    assert "không thể trùng với chính nó" in field_errors(answer.get_data(as_text=True))[
        "original"]


def test_a_stale_page_is_told_to_reload(handler_ticket, db, monkeypatch):
    client, token, ticket = handler_ticket
    from services.tracker.tickets import service

    real = service.get_ticket

    def racing(**kw):  # someone else writes the ticket between our read and our write
        read = real(**kw)
        db[TICKETS].update_one({"_id": ticket["_id"]}, {"$inc": {"seq": 1}})
        return read

    monkeypatch.setattr(service, "get_ticket", racing)
    answer = client.post(f"/staff/tickets/{ticket['_id']}/transition",
                         data={"to": "in_progress", "note": "Đang xử lý", "csrf_token": token})
    monkeypatch.undo()
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "người khác cập nhật" in page
    assert form_values(page, "/transition")["note"] == "Đang xử lý"


def test_bulk_form_errors(staff, make_ticket):
    ticket = make_ticket()
    client, token = staff("handler")
    none = client.post("/staff/queue/bulk", data={"to": "in_progress", "note": "Tổ 2 xử lý",
                                                  "csrf_token": token})
    assert none.status_code == 422
    page = none.get_data(as_text=True)
    assert "chọn ít nhất một phiếu" in field_errors(page)["ticket_ids"]
    assert form_values(page, "/bulk")["note"] == "Tổ 2 xử lý"
    no_target = client.post("/staff/queue/bulk", data={"ticket_ids": [ticket["_id"]],
                                                       "to": "", "csrf_token": token})
    page = no_target.get_data(as_text=True)
    assert "chọn một giá trị" in field_errors(page)["to"]
    assert form_values(page)["ticket_ids"] == ticket["_id"]  # the selection is kept


def test_bulk_reports_each_refusal(staff, make_ticket, db):
    first, second = make_ticket(), make_ticket()
    client, token = staff("handler")
    client.post(f"/staff/tickets/{second['_id']}/transition",
                data={"to": "resolved", "csrf_token": token})
    answer = client.post("/staff/queue/bulk", data={
        "ticket_ids": [first["_id"], second["_id"]], "to": "in_progress", "csrf_token": token})
    assert answer.status_code == 303
    page = client.get("/staff/queue").get_data(as_text=True)
    assert "Đã chuyển 1 phiếu" in page and "không chuyển sang" in page


def test_queue_filter_errors(staff, make_ticket):
    ticket = make_ticket()
    client, _ = staff("handler")
    page = client.get("/staff/queue?state=bogus&category=traffic").get_data(as_text=True)
    assert "chọn một giá trị" in field_errors(page)["state"]
    assert ticket["tracking_code"] in page  # the valid filter still applies
    assert form_values(page)["category"] == "traffic"
