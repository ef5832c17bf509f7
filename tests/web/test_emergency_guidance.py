"""Issue 15: a report that reads as danger to life tells the resident to call 114 / 115 / 113
now, at submit time (intake's 201 body, the confirmation page, Open311's service_notice), and
the operator's console shows a red banner while the operator types. Ordinary reports do not."""

from __future__ import annotations

import re

from services.classifier.app import create_app as create_classifier
from tests.helpers import live_server
from tests.web.conftest import csrf_of
from tests.web.test_staff_form_errors import point_tracker_at

FIRE = "Cháy lớn ở kho hàng số 12 đường Lê Văn Sỹ quận 3, khói đen mù mịt, có người mắc kẹt"
ORDINARY = "Đường Lê Văn Sỹ đoạn gần chợ bị ngập sâu sau cơn mưa chiều nay."


def _api(resident, description: str):
    return resident.post("/api/v1/reports", json={"channel": "web", "description": description})


def test_api_201_body_says_call_114_in_both_languages(resident):
    answer = _api(resident, FIRE)
    assert answer.status_code == 201, answer.json
    emergency = answer.json["emergency"]
    assert emergency["call_now"] == ["114"]
    assert "gọi ngay 114" in emergency["vi"] and "call 114 now" in emergency["en"]
    assert {"113", "114", "115"} == set(emergency["numbers"])
    calm = _api(resident, ORDINARY)
    assert calm.status_code == 201 and calm.json["emergency"] is None
    over = _api(resident, "Đám cháy đã được dập tắt hôm qua, xin dọn đống tro trên vỉa hè")
    assert over.json["emergency"] is None


def test_open311_service_notice_names_the_emergency_numbers(resident):
    form = {"api_key": "demo", "service_code": "fire_safety", "lat": "10.7769",
            "long": "106.7009", "description": FIRE}
    answer = resident.post("/open311/v2/requests.json", data=form)
    assert answer.status_code == 201
    notice = answer.json[0]["service_notice"]
    assert "114" in notice and "gọi ngay" in notice and "call 114 now" in notice
    calm = resident.post("/open311/v2/requests.json", data={**form, "description": ORDINARY})
    assert "114" not in calm.json[0]["service_notice"]


def test_confirmation_page_shows_the_numbers(resident):
    html = resident.get("/").get_data(as_text=True)
    sent = resident.post("/", data={"description": FIRE, "csrf_token": csrf_of(html),
                                    "submission": "fire12345678abcd"})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    page = resident.get(sent.headers["Location"]).get_data(as_text=True)
    assert 'id="emergency"' in page and 'href="tel:114"' in page
    assert "call 114 now" in page and "gọi ngay 114" in page
    html = resident.get("/").get_data(as_text=True)
    sent = resident.post("/", data={"description": ORDINARY, "csrf_token": csrf_of(html),
                                    "submission": "calm12345678abcd"})
    assert 'id="emergency"' not in resident.get(sent.headers["Location"]).get_data(as_text=True)


def test_operator_console_red_banner(tracker_app, staff, settings, classifier):
    with live_server(create_classifier(settings, classifier=classifier)) as classifier_url:
        point_tracker_at(tracker_app, classifier_url=classifier_url)
        client, token = staff("operator")
        live = client.post("/staff/operator/suggest", json={"text": FIRE},
                           headers={"X-CSRF-Token": token})
        assert live.status_code == 200, live.json
        assert live.json["urgent"] and "114" in live.json["emergency"]["vi"]
        calm = client.post("/staff/operator/suggest", json={"text": ORDINARY},
                           headers={"X-CSRF-Token": token})
        assert calm.json["emergency"] is None
        chatter = client.post("/staff/operator/suggest",
                              json={"text": "Cảm ơn các anh chị đã xử lý nhanh vụ cống nghẹt"},
                              headers={"X-CSRF-Token": token})
        assert chatter.json["needs_triage"] and chatter.json["outcome"] == "not_a_report"
        page = client.post("/staff/operator", data={
            "caller_phone": "0912345678", "call_id": "c-114", "description": FIRE,
            "category": "", "district": "", "address": "", "csrf_token": token,
            "action": "suggest"}).get_data(as_text=True)
        banner = re.search(r'<div class="emergency-banner" id="emergency-banner"[^>]*>', page)
        assert banner and "hidden" not in banner.group(0)
        assert "gọi ngay 114" in page
        empty = client.get("/staff/operator").get_data(as_text=True)
        assert re.search(r'id="emergency-banner"[^>]*hidden', empty)
