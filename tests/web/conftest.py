"""Fixtures for the web pages: intake and tracker apps on the test's own database, a staff
login helper, tickets made straight from classified events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from bson import ObjectId
from flask import Flask
from flask.testing import FlaskClient

from services.intake.app import create_app as create_intake
from services.intake.store import init_db as intake_init_db
from services.tracker.app import create_app as create_tracker
from services.tracker.config import TrackerConfig, load_config
from services.tracker.store import init_db
from shared.clock import ManualClock
from shared.events import ReportClassifiedV1
from shared.settings import Settings

PASSWORD = "demo1022"  # noqa: S105 - the demo directory's password
USERS = {"operator": "operator.lan", "handler": "handler.xaydung",
         "other_handler": "handler.dienluc", "supervisor": "supervisor.minh",
         "admin": "admin"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def config(settings: Settings) -> TrackerConfig:
    return load_config(settings)


@pytest.fixture
def intake_app(settings: Settings, clock: ManualClock, db) -> Flask:
    intake_init_db(db)
    return create_intake(settings, clock=clock)


@pytest.fixture
def tracker_app(settings: Settings, clock: ManualClock, db, config: TrackerConfig) -> Flask:
    init_db(db)
    return create_tracker(settings, clock=clock, config=config)


@pytest.fixture
def resident(intake_app: Flask) -> FlaskClient:
    return intake_app.test_client()


def login(client: FlaskClient, role: str) -> str:
    """Log the client in as the demo user of `role`; returns the session's CSRF token."""
    page = client.get("/staff/login")
    answer = client.post("/staff/login", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "user": USERS[role],
        "password": PASSWORD})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return csrf_of(client.get(answer.headers["Location"]).get_data(as_text=True))


@pytest.fixture
def staff(tracker_app: Flask) -> Callable[[str], tuple[FlaskClient, str]]:
    def make(role: str) -> tuple[FlaskClient, str]:
        client = tracker_app.test_client()
        return client, login(client, role)
    return make


def classified(*, at, category: str = "traffic", district: str | None = "q3",
               urgent: bool = False, needs_triage: bool = False, confidence: float = 0.93,
               description: str = "Đèn giao thông ở ngã tư bị hỏng từ sáng, xe cộ rất lộn xộn.",
               top3: list[tuple[str, float]] | None = None) -> ReportClassifiedV1:
    report_id = str(ObjectId())
    return ReportClassifiedV1(
        event_id=f"{report_id}:classified:test", occurred_at=at, report_id=report_id,
        tracking_code=f"HCM-2026-{uuid.uuid4().int % 10**6:06d}", channel="web",
        description=description, submitted_at=at, category=category, confidence=confidence,
        top3=top3 or [(category, confidence)], urgent=urgent, district=district,
        needs_triage=needs_triage, department="so_xay_dung", model_version="test")


@pytest.fixture
def make_ticket(db, config: TrackerConfig, clock: ManualClock) -> Callable[..., dict]:
    from tests.helpers import create_from_classified

    init_db(db)

    def make(**kw) -> dict:
        ticket, _ = create_from_classified(db=db, config=config,
                                           event=classified(at=clock(), **kw), now=clock())
        return ticket
    return make
