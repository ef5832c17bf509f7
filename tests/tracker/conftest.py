from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import pytest
from bson import ObjectId
from flask import Flask
from flask.testing import FlaskClient

from services.tracker.app import create_app
from services.tracker.config import TrackerConfig, load_config
from services.tracker.store import init_db
from shared.clock import ManualClock
from shared.events import ReportClassifiedV2
from shared.settings import Settings

TOKENS = {
    "operator": "demo-operator",
    "handler": "demo-handler-so_xay_dung",
    "other_handler": "demo-handler-dien_luc",
    "supervisor": "demo-supervisor",
    "admin": "demo-admin",
    "service": "demo-intake-service",
}


def pytest_collection_modifyitems(config, items) -> None:
    """The long figures audit runs only when asked for by its marker."""
    if "audit_long" in (config.getoption("-m") or ""):
        return
    for item in items:
        if "audit_long" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="long audit: run with -m audit_long"))


@pytest.fixture
def config(settings: Settings) -> TrackerConfig:
    return load_config(settings)


@pytest.fixture
def tdb(db):
    init_db(db)
    return db


@pytest.fixture
def app(settings: Settings, clock: ManualClock, tdb, config: TrackerConfig) -> Flask:
    return create_app(settings, clock=clock, config=config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def classified(*, at: datetime, category: str = "traffic", district: str | None = "q3",
               urgent: bool = False, needs_triage: bool = False,
               description: str = "Đèn giao thông ở ngã tư bị hỏng từ sáng, xe cộ rất lộn xộn.",
               report_id: str | None = None, confidence: float = 0.93,
               code: str | None = None, channel: str = "web",
               category_hint: str | None = None) -> ReportClassifiedV2:
    report_id = report_id or str(ObjectId())
    return ReportClassifiedV2(
        event_id=f"{report_id}:classified:test", occurred_at=at, report_id=report_id,
        tracking_code=code or f"TST-2026-{uuid.uuid4().int % 10**9:09d}", channel=channel,
        category_hint=category_hint,
        description=description, submitted_at=at, category=category, confidence=confidence,
        top3=[(category, confidence)], urgent=urgent, district=district,
        needs_triage=needs_triage, model_version="test")


@pytest.fixture
def make_ticket(tdb, config: TrackerConfig, clock: ManualClock) -> Callable[..., dict]:
    from tests.helpers import create_from_classified

    def make(**kw) -> dict:
        ticket, _ = create_from_classified(db=tdb, config=config,
                                           event=classified(at=clock(), **kw), now=clock())
        return ticket
    return make
