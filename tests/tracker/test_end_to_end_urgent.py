"""Issue 15 end to end, on the embedded stack: a fire report filed through intake answers with
the emergency numbers at once, and goes through the relay, the classifier and the tracker to
an urgent fire-safety ticket whose clocks run 24/7; a thank-you note never reaches a
department."""

from __future__ import annotations

from datetime import datetime, timedelta

import requests

from tests.helpers import wait_until

SUPERVISOR = {"Authorization": "Bearer demo-supervisor"}
FIRE = ("Cháy lớn ở kho hàng số 12 đường Lê Văn Sỹ quận 3, lửa bùng lên dữ dội, khói đen "
        "mù mịt, có người còn mắc kẹt bên trong")
THANKS = "Cảm ơn các anh chị đã xử lý nhanh vụ cống nghẹt hôm trước"


def test_fire_report_is_urgent_with_emergency_numbers(live_pipeline):
    _fire_and_thanks(live_pipeline.intake_url, live_pipeline.tracker_url)


def _ticket(tracker_url: str, report_id: str) -> dict | None:
    answer = requests.get(f"{tracker_url}/api/v1/tickets/{report_id}", headers=SUPERVISOR,
                          timeout=5)
    return answer.json() if answer.status_code == 200 else None


def _fire_and_thanks(intake_url: str, tracker_url: str) -> None:
    created = requests.post(f"{intake_url}/api/v1/reports", json={
        "channel": "app", "description": FIRE}, timeout=10)
    assert created.status_code == 201, created.text
    emergency = created.json()["emergency"]
    assert emergency and "114" in emergency["call_now"]
    assert "gọi ngay 114" in emergency["vi"] and "call 114" in emergency["en"]
    fire_id = created.json()["report_id"]

    thanks = requests.post(f"{intake_url}/api/v1/reports", json={
        "channel": "app", "description": THANKS}, timeout=10)
    assert thanks.status_code == 201 and thanks.json()["emergency"] is None
    thanks_id = thanks.json()["report_id"]

    assert wait_until(lambda: _ticket(tracker_url, fire_id) is not None, 60, 0.2), \
        "the fire report never became a ticket"
    ticket = _ticket(tracker_url, fire_id)
    assert ticket["urgent"] is True
    assert (ticket["category"], ticket["department"]) == ("fire_safety", "canh_sat_pccc")
    assert ticket["state"] == "assigned"
    started = datetime.fromisoformat(ticket["started_at"])
    for name, clock in ticket["clocks"].items():
        if clock["running"] and clock["due_at"]:
            due = datetime.fromisoformat(clock["due_at"])
            # 24/7: the deadline is the target in plain hours, nights and weekends included
            assert due - started == timedelta(seconds=clock["target_s"]), name

    assert wait_until(lambda: _ticket(tracker_url, thanks_id) is not None, 30, 0.2)
    chatter = _ticket(tracker_url, thanks_id)
    assert chatter["state"] == "triage" and chatter["department"] is None
    assert chatter["triage_reason"] == "not_a_report" and chatter["urgent"] is False
