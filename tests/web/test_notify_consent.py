"""The report form asks for consent to news; the page's language becomes the messages'."""

from __future__ import annotations

from services.intake.notify import outbox
from tests.web.conftest import csrf_of
from tests.web.forms import field_errors

REPORT = {"description": "Cống trước nhà số 12 bị tắc, nước tràn lên vỉa hè mấy ngày nay.",
          "district": "q3"}


def _send(resident, data: dict, lang: str = "vi"):
    page = resident.get(f"/?lang={lang}").get_data(as_text=True)
    return resident.post("/", data={**REPORT, **data, "csrf_token": csrf_of(page),
                                    "submission": "notify-consent-1"})


def test_ticked_consent_queues_the_received_message_in_the_page_language(resident, db):
    sent = _send(resident, {"email": "binh@example.vn", "phone": "0912345678", "notify": "1"},
                 lang="en")
    assert sent.status_code == 303
    report = db.reports.find_one()
    assert report["notify"]["channels"] == ["email", "sms"]
    assert report["notify"]["lang"] == "en"
    rows = list(db[outbox.NOTIFICATIONS].find())
    assert {(r["kind"], r["channel"], r["lang"]) for r in rows} == {
        ("received", "email", "en"), ("received", "sms", "en")}


def test_zalo_too_when_asked(resident, db):
    assert _send(resident, {"phone": "0912345678", "notify": "1",
                            "notify_zalo": "1"}).status_code == 303
    assert db.reports.find_one()["notify"]["channels"] == ["sms", "zalo"]


def test_no_tick_no_news(resident, db):
    assert _send(resident, {"email": "binh@example.vn"}).status_code == 303
    assert "notify" not in db.reports.find_one()
    assert db[outbox.NOTIFICATIONS].count_documents({}) == 0


def test_consent_without_a_contact_is_shown_next_to_the_box(resident, db):
    page = _send(resident, {"notify": "1"})
    assert page.status_code == 422
    errors = field_errors(page.get_data(as_text=True))
    assert "email" in errors["notify"].lower()
    assert db.reports.count_documents({}) == 0


def test_operator_asks_the_caller_and_records_consent(tracker_app, intake_app, staff, db):
    from tests.helpers import live_server
    from tests.web.test_staff_form_errors import point_tracker_at

    with live_server(intake_app) as intake_url:
        point_tracker_at(tracker_app, intake_url=intake_url)
        client, token = staff("operator")
        base = {"caller_phone": "0912345678", "call_id": "c-77", "description":
                REPORT["description"], "category": "", "district": "", "address": "",
                "csrf_token": token, "action": "submit"}
        bad = client.post("/staff/operator", data={**base, "notify": "1",
                                                   "caller_email": "not-an-email"})
        assert bad.status_code == 422
        assert "caller_email" in field_errors(bad.get_data(as_text=True))
        done = client.post("/staff/operator", data={**base, "notify": "1", "call_id": "c-78",
                                                    "caller_email": "lan@example.vn"})
        assert done.status_code == 200, done.get_data(as_text=True)
        client.post("/staff/operator", data={**base, "call_id": "c-79"})
    reports = {r["call"]["call_id"]: r for r in db.reports.find()}
    assert reports["c-78"]["notify"]["channels"] == ["email", "sms"]
    assert "notify" not in reports["c-79"]
    assert db[outbox.NOTIFICATIONS].count_documents({"report_id": reports["c-78"]["_id"]}) == 2


def test_operator_console_lists_undelivered_messages(tracker_app, intake_app, staff, db,
                                                     clock):
    from tests.helpers import live_server
    from tests.web.test_staff_form_errors import point_tracker_at

    resident = intake_app.test_client()
    page = resident.get("/").get_data(as_text=True)
    resident.post("/", data={**REPORT, "phone": "0912345678", "notify": "1",
                             "csrf_token": csrf_of(page), "submission": "undelivered-1"})
    db[outbox.NOTIFICATIONS].update_many({}, {"$set": {"state": outbox.FAILED,
                                                       "last_error": "sms http 400"}})
    code = db.reports.find_one()["tracking_code"]
    client, _ = staff("operator")
    point_tracker_at(tracker_app, intake_url="http://127.0.0.1:9")
    down = client.get("/staff/operator").get_data(as_text=True)
    assert "không phản hồi" in down.split('id="undelivered"')[1]
    with live_server(intake_app) as intake_url:
        point_tracker_at(tracker_app, intake_url=intake_url)
        console = client.get("/staff/operator").get_data(as_text=True)
    panel = console.split('id="undelivered"')[1]
    assert code in panel and "sms http 400" in panel
    assert "0912345678" not in panel
