"""Production refuses every development credential and plain-text staff secrets, naming the
setting at fault; plain-text rows are refused everywhere but the bundled demo directory."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from services.tracker.config import load_config
from shared.settings import (
    DEV_MODEL_SIGNING_KEY,
    DEV_PII_KEY,
    DEV_SECRET_KEY,
    Settings,
    SettingsError,
)


@pytest.fixture
def production(tmp_path) -> dict[str, str]:
    staff = tmp_path / "staff.json"
    staff.write_text(json.dumps([{"user": "an", "role": "admin",
                                  "token_sha256": "a" * 64}]), encoding="utf-8")
    return {"APP_ENV": "production", "PII_KEYS": Fernet.generate_key().decode(),
            "OPEN311_API_KEYS": "k-open311-city", "STAFF_API_KEYS": "k-staff-city",
            "TRACKER_SERVICE_TOKEN": "t-service-city", "STAFF_USERS_FILE": str(staff),
            "SECRET_KEY": "s" * 40, "CONTACT_INDEX_KEY": "c" * 40,
            "MODEL_SIGNING_KEY": "m" * 40}


def test_production_settings_without_demo_credentials_load(production):
    assert Settings.from_env(production).env == "production"
    uri = "mongodb://hotline-intake:s3cr%40t@mongo-0.mongo:27017/?authSource=admin"
    assert Settings.from_env({**production, "MONGO_URI": uri}).mongo_uri == uri


@pytest.mark.parametrize("setting,value", [
    ("OPEN311_API_KEYS", "demo"), ("OPEN311_API_KEYS", "k-open311-city,demo"),
    ("STAFF_API_KEYS", "demo-operator"), ("TRACKER_SERVICE_TOKEN", "demo-intake-service"),
    ("STAFF_USERS_FILE", "/etc/1022/staff.demo.json"), ("PII_KEYS", DEV_PII_KEY),
    ("SECRET_KEY", DEV_SECRET_KEY), ("MODEL_SIGNING_KEY", DEV_MODEL_SIGNING_KEY),
    ("MODEL_SIGNING_KEY", "short"),
    ("MONGO_URI", "mongodb://hotline-intake:CHANGE_ME@mongo-0.mongo:27017,mongo-1.mongo:27017"
                  "/?replicaSet=rs0&authSource=admin"),
])
def test_production_refuses_demo_credential_naming_the_setting(production, setting, value):
    with pytest.raises(SettingsError, match=setting):
        Settings.from_env({**production, setting: value})


def _settings_with_rows(tmp_path, rows, app_env: str = "test") -> Settings:
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return replace(Settings(), env=app_env, staff_users_file=path)


@pytest.mark.parametrize("app_env", ["test", "embedded", "production"])
@pytest.mark.parametrize("row", [
    {"user": "lan", "role": "operator", "password": "hunter2"},
    {"user": "svc", "role": "service", "token": "plain-token"},
])
def test_plain_text_staff_secrets_are_refused_outside_the_demo_file(tmp_path, app_env, row):
    with pytest.raises(SettingsError, match="STAFF_USERS_FILE"):
        load_config(_settings_with_rows(tmp_path, [row], app_env))


def test_the_bundled_demo_directory_is_refused_in_production():
    with pytest.raises(SettingsError, match="STAFF_USERS_FILE"):
        load_config(replace(Settings(), env="production"))
    assert load_config(Settings()).staff.login("admin", "demo1022") is not None
