from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.intake.app import create_app
from services.intake.store import init_db
from shared.clock import ManualClock
from shared.settings import Settings


@pytest.fixture
def app(settings: Settings, clock: ManualClock, db) -> Flask:
    init_db(db)
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def valid_report(**overrides):
    body = {
        "channel": "web",
        "description": "Đường Lê Văn Sỹ đoạn gần chợ bị ngập sâu sau cơn mưa chiều nay.",
        "district": "q3",
        "reporter": {"name": "Nguyễn Văn An", "phone": "0901234567", "email": "an@example.vn"},
    }
    body.update(overrides)
    return body
