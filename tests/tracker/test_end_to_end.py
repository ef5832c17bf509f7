"""On the embedded stack, every part running: a citizen's report goes through intake, the
relay, the classifier and the tracker; a handler resolves it; the citizen's tracking page and
Open311 show it within 2 s, and the citizen's rating closes the ticket."""

from __future__ import annotations

import time

import requests

from tests.helpers import wait_until

HANDLER = {"Authorization": "Bearer demo-handler-so_xay_dung"}


def test_report_to_resolution_and_back_to_the_citizen(live_pipeline):
    _walk_through(live_pipeline.intake_url, live_pipeline.tracker_url)


def _walk_through(intake_url: str, tracker_url: str) -> None:
    created = requests.post(f"{intake_url}/api/v1/reports", json={
        "channel": "web", "district": "q3",
        "description": "Đèn tín hiệu giao thông ở ngã tư Cách Mạng Tháng Tám - Điện Biên Phủ "
                       "bị hỏng từ sáng, xe cộ chen lấn rất nguy hiểm.",
        "reporter": {"name": "Trần Thị Bích", "phone": "0912345678"}}, timeout=10)
    assert created.status_code == 201
    code, report_id = created.json()["tracking_code"], created.json()["report_id"]
    key = created.json()["citizen_key"]

    def queue_ids() -> list[str]:
        items = requests.get(f"{tracker_url}/api/v1/tickets", headers=HANDLER,
                             timeout=5).json()["items"]
        return [t["id"] for t in items]

    assert wait_until(lambda: report_id in queue_ids(), 60, 0.2), "ticket never reached queue"
    ticket = requests.get(f"{tracker_url}/api/v1/tickets/{report_id}", headers=HANDLER,
                          timeout=5).json()
    assert (ticket["tracking_code"], ticket["category"], ticket["department"]) == (
        code, "traffic", "so_xay_dung")
    assert "0912345678" not in str(ticket) and "Bích" not in str(ticket)

    def status() -> dict:
        return requests.get(f"{intake_url}/api/v1/reports/{code}", timeout=5).json()

    assert wait_until(lambda: status()["status"] == "assigned", 10, 0.1)
    assert status()["expected_datetime"] == ticket["expected_resolution_at"]

    for to, note in (("in_progress", None),
                     ("resolved", "Đã thay bộ điều khiển đèn tín hiệu, đèn hoạt động lại.")):
        moved = requests.post(f"{tracker_url}/api/v1/tickets/{report_id}/transitions",
                              json={"to": to, "note": note, "public": True}, headers=HANDLER,
                              timeout=5)
        assert moved.status_code == 200, moved.json()
    resolved_at = time.monotonic()
    assert wait_until(lambda: status()["status"] == "resolved", 2.0, 0.05), status()
    propagation = time.monotonic() - resolved_at
    page = status()
    assert page["public_notes"][-1]["text"].startswith("Đã thay bộ điều khiển")
    assert page["can_rate"] and page["can_reopen"]

    open311 = requests.get(f"{intake_url}/open311/v2/requests/{code}.json", timeout=5).json()[0]
    assert open311["status"] == "closed"
    assert open311["status_notes"].startswith("Đã thay bộ điều khiển")
    assert (open311["service_code"], open311["agency_responsible"]) == ("traffic",
                                                                        "so_xay_dung")

    rated = requests.post(f"{intake_url}/api/v1/reports/{code}/rating",
                          json={"score": 5, "comment": "Xử lý nhanh", "citizen_key": key},
                          timeout=5)
    assert rated.status_code == 200, rated.json()
    assert rated.json() == {"tracking_code": code, "status": "closed", "rating": 5}
    assert wait_until(lambda: status()["status"] == "closed" and status()["rating"] == 5,
                      2.0, 0.05)
    again = requests.post(f"{intake_url}/api/v1/reports/{code}/rating",
                          json={"score": 1, "citizen_key": key}, timeout=5)
    assert again.status_code == 422 and again.headers["Content-Type"].startswith(
        "application/problem+json")
    assert again.json()["errors"][0]["field"] != "citizen_key"  # the tracker's refusal
    print(f"status reached the citizen's page {propagation:.2f} s after the handler's move")
