"""SECRET_KEY, the service URLs the pages call, and staff passwords in the directory."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from services.tracker.staff import directory_from_rows, token_digest
from shared.settings import DEV_PII_KEY, DEV_SECRET_KEY, Settings, SettingsError

PRODUCTION = {"APP_ENV": "production", "PII_KEYS": "k" * 43 + "=",
              "STAFF_USERS_FILE": "/run/secrets/staff.json", "CONTACT_INDEX_KEY": "c" * 40,
              "MODEL_SIGNING_KEY": "m" * 40}


def test_production_needs_a_real_secret_key():
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env(PRODUCTION)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({**PRODUCTION, "SECRET_KEY": "short"})
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({**PRODUCTION, "SECRET_KEY": DEV_SECRET_KEY})
    assert Settings.from_env({**PRODUCTION, "SECRET_KEY": "s" * 40}).secret_key == "s" * 40
    assert DEV_PII_KEY not in Settings.from_env({**PRODUCTION, "SECRET_KEY": "s" * 40}).pii_keys


def test_service_urls_follow_the_ports():
    s = Settings.from_env({"INTAKE_PORT": "9100", "CLASSIFIER_PORT": "9101"})
    assert (s.intake_url, s.classifier_url) == ("http://127.0.0.1:9100", "http://127.0.0.1:9101")
    assert Settings.from_env({}).secret_key == DEV_SECRET_KEY
    s = Settings.from_env({"INTAKE_URL": "http://intake:8000", "CLASSIFIER_URL": "http://c:1"})
    assert (s.intake_url, s.classifier_url) == ("http://intake:8000", "http://c:1")


def test_directory_with_hashed_passwords_and_tokens():
    directory = directory_from_rows([
        {"user": "lan", "role": "operator", "password_hash": generate_password_hash("mật-khẩu")},
        {"user": "an", "role": "handler", "department": "dien_luc",
         "token_sha256": token_digest("t-an")},
    ])
    assert directory.login("lan", "mật-khẩu").role == "operator"
    assert directory.login("lan", "mat-khau") is None
    assert directory.login("an", "t-an") is None  # a token is not a password
    assert directory.authenticate("t-an").user == "an"
    assert directory.principal("an").department == "dien_luc"
    with pytest.raises(ValueError, match="token_sha256 or password_hash"):
        directory_from_rows([{"user": "x", "role": "operator"}])
