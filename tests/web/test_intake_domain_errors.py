"""Intake's refusals are domain errors (shared/errors.py): the API answers each with problem
details carrying its code, its status and the field at fault; the resident pages translate
by code, the tracker's refusals included (its code and parameters travel in its problem
details), and nothing anywhere matches an English message text."""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path

import pytest

from services.intake.app import create_app as create_intake
from services.intake.store import init_db as intake_init_db
from services.tracker.app import create_app as create_tracker
from services.tracker.store import init_db as tracker_init_db
from services.tracker.tickets import service
from services.tracker.tickets.service import SYSTEM
from tests.helpers import create_from_classified, live_server
from tests.intake.conftest import valid_report
from tests.web.conftest import classified, csrf_of
from tests.web.forms import field_errors

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"


@pytest.fixture
def apps(settings, clock, db, config):
    """The tracker on a live server, intake (API and pages) forwarding to it."""
    tracker_init_db(db)
    intake_init_db(db)
    with live_server(create_tracker(settings, clock=clock, config=config)) as tracker_url:
        intake = create_intake(dataclasses.replace(settings, tracker_url=tracker_url),
                               clock=clock)
        yield intake.test_client()


def _resolved(client, db, config, clock) -> tuple[str, str]:
    """A report whose ticket the handler resolved: (tracking code, citizen key)."""
    made = client.post("/api/v1/reports", json=valid_report())
    assert made.status_code == 201, made.json
    code, key = made.json["tracking_code"], made.json["citizen_key"]
    event = classified(at=clock()).model_copy(update={"tracking_code": code})
    ticket, _ = create_from_classified(db=db, config=config, event=event, now=clock())
    service.transition(db=db, config=config, principal=SYSTEM, ticket_id=ticket["_id"],
                       to_state="resolved", note=None, public=False, now=clock())
    db.reports.update_one({"tracking_code": code},
                          {"$set": {"status": "resolved", "resolved_at": clock()}})
    return code, key


def test_api_refusals_carry_code_status_and_field(apps):
    cases = [
        (apps.get("/api/v1/reports/abc"), 400, "code_format", "tracking_code"),
        (apps.get("/api/v1/reports/HCM-2026-999999"), 404, "code_unknown", "tracking_code"),
        (apps.post("/api/v1/reports", json=valid_report(channel="call_center", call={
            "operator_id": "op-7", "call_id": "c-1", "caller_phone": "0912345678"})), 401,
         "staff_key_needed", "X-API-Key"),
        (apps.post("/api/v1/reports", json=valid_report(photos=[{
            "content_base64": base64.b64encode(b"GIF89a not a photo").decode()}])), 422,
         "photo_type", "photos.0.content_base64"),
        (apps.post("/api/v1/reports", json=valid_report(), headers={"Idempotency-Key": "é"}),
         400, "idempotency_key_format", "Idempotency-Key"),
    ]
    for answer, status, code, field in cases:
        assert (answer.status_code, answer.mimetype) == (status, PROBLEM), answer.json
        assert answer.json["code"] == code
        assert answer.json["type"] == "/problems/" + code.replace("_", "-")
        assert answer.json["errors"][0]["field"] == field


def test_a_tracker_refusal_keeps_its_code_in_the_api_and_the_page(apps, db, config, clock):
    late, late_key = _resolved(apps, db, config, clock)
    rated, rated_key = _resolved(apps, db, config, clock)
    first = apps.post(f"/api/v1/reports/{rated}/rating", json={"citizen_key": rated_key,
                                                                "score": 4})
    assert first.status_code == 200, first.json
    # rated on another device: this page has not heard yet, and the tracker says why it refuses
    with apps.session_transaction() as session:
        session["citizen_keys"] = {rated: rated_key}
    page = apps.get(f"/track/{rated}").get_data(as_text=True)
    refused = apps.post(f"/track/{rated}/rating", data={"score": "5",
                                                        "csrf_token": csrf_of(page)})
    assert refused.status_code == 422
    assert field_errors(refused.get_data(as_text=True))["score"] == \
        "Phiếu này đã được đánh giá."
    again = apps.post(f"/api/v1/reports/{rated}/rating", json={"citizen_key": rated_key,
                                                                "score": 5})
    assert (again.status_code, again.mimetype, again.json["code"]) == \
        (422, PROBLEM, "already_rated")
    clock.advance(days=8)
    answer = apps.post(f"/api/v1/reports/{late}/reopen",
                       json={"citizen_key": late_key, "reason": "Vẫn còn ngập nặng"})
    assert (answer.status_code, answer.mimetype) == (422, PROBLEM), answer.json
    assert answer.json["code"] == "reopen_window" and answer.json["params"] == {"days": 7}


def test_no_error_is_recognised_by_its_english_text():
    """Refusals are told apart by code or type: no `"..." in str(exc)`, no test on a message."""
    pattern = re.compile(r"""["'][^"']+["']\s+in\s+(str\(\w+\)|\w+\.detail|text\b|message\b)""")
    offenders = [f"{p.relative_to(ROOT)}:{n}"
                 for p in sorted((ROOT / "services").rglob("*.py"))
                 for n, line in enumerate(p.read_text("utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []
