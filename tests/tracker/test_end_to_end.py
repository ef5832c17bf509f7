"""On the embedded stack, every part running: a citizen's report goes through intake, the
relay, the classifier and the tracker; a handler resolves it; the citizen's tracking page and
Open311 show it within 2 s, and the citizen's rating closes the ticket."""

from __future__ import annotations

import time
from functools import partial

import requests

from services.intake.app import create_app as create_intake
from services.intake.outbox.relay import OutboxRelay
from services.intake.projector import run_projector
from services.tracker.app import create_app as create_tracker
from services.tracker.config import load_config
from services.tracker.monitor import run_monitor
from services.tracker.publisher import Publisher
from services.tracker.worker import run_worker
from shared.clock import system_clock
from shared.settings import Settings
from shared.topics import (
    REPORTS_CLASSIFIED,
    REPORTS_SUBMITTED,
    TICKETS_CORRECTIONS,
    TICKETS_STATUS,
)
from tests.classifier.conftest import new_worker
from tests.helpers import group_at_end, live_server, running, wait_until

HANDLER = {"Authorization": "Bearer demo-handler-so_xay_dung"}


def test_report_to_resolution_and_back_to_the_citizen(env, db, classifier):
    tracker_settings = Settings.from_env(env)
    config = load_config(tracker_settings)
    with live_server(create_tracker(tracker_settings, config=config)) as tracker_url:
        settings = Settings.from_env({**env, "TRACKER_URL": tracker_url})
        with live_server(create_intake(settings)) as intake_url:
            loops = (
                OutboxRelay(settings=settings, db=db, clock=system_clock).run,
                new_worker(settings, classifier, db, group_id=group_at_end(
                    settings.kafka_bootstrap, REPORTS_SUBMITTED, TICKETS_CORRECTIONS)).run,
                partial(run_worker, settings=settings, db=db, config=config,
                        clock=system_clock,
                        group_id=group_at_end(settings.kafka_bootstrap, REPORTS_CLASSIFIED)),
                Publisher(settings=settings, db=db, clock=system_clock).run,
                partial(run_monitor, db=db, config=config, clock=system_clock,
                        interval_s=0.2),
                partial(run_projector, settings, db,
                        group_id=group_at_end(settings.kafka_bootstrap, REPORTS_CLASSIFIED,
                                      TICKETS_STATUS)),
            )
            with running(*loops):
                _walk_through(intake_url, tracker_url)


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
