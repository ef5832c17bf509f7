"""Issue 15 end to end, on the embedded stack: a fire report filed through intake answers with
the emergency numbers at once, and goes through the relay, the classifier and the tracker to
an urgent fire-safety ticket whose clocks run 24/7; a thank-you note never reaches a
department."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

import requests

from services.intake.app import create_app as create_intake
from services.intake.outbox.relay import OutboxRelay
from services.tracker.app import create_app as create_tracker
from services.tracker.config import load_config
from services.tracker.worker import run_worker
from shared.clock import system_clock
from shared.settings import Settings
from shared.topics import REPORTS_CLASSIFIED, REPORTS_SUBMITTED, TICKETS_CORRECTIONS
from tests.classifier.conftest import new_worker
from tests.helpers import group_at_end, live_server, running, wait_until

SUPERVISOR = {"Authorization": "Bearer demo-supervisor"}
FIRE = ("Cháy lớn ở kho hàng số 12 đường Lê Văn Sỹ quận 3, lửa bùng lên dữ dội, khói đen "
        "mù mịt, có người còn mắc kẹt bên trong")
THANKS = "Cảm ơn các anh chị đã xử lý nhanh vụ cống nghẹt hôm trước"


def test_fire_report_is_urgent_with_emergency_numbers(env, db, classifier):
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
            )
            with running(*loops):
                _fire_and_thanks(intake_url, tracker_url)


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
