from __future__ import annotations

import pytest

from shared.settings import DEV_PII_KEY, Settings, SettingsError


def test_defaults_match_the_documented_ports():
    s = Settings.from_env({})
    assert (s.intake_port, s.classifier_port, s.tracker_port) == (8000, 8001, 8002)
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert "27017" in s.mongo_uri
    assert s.open311_api_keys == ("demo",)


def test_production_refuses_development_secrets():
    with pytest.raises(SettingsError):
        Settings.from_env({"APP_ENV": "production"})
    with pytest.raises(SettingsError):
        Settings.from_env({"APP_ENV": "production", "PII_KEYS": DEV_PII_KEY})
    complete = {"APP_ENV": "production", "PII_KEYS": "k" * 43 + "=",
                "STAFF_USERS_FILE": "/etc/hotline/staff/staff-users.json",
                "SECRET_KEY": "s" * 40, "CONTACT_INDEX_KEY": "c" * 40}
    for missing in ("STAFF_USERS_FILE", "SECRET_KEY", "CONTACT_INDEX_KEY"):
        with pytest.raises(SettingsError, match=missing):
            Settings.from_env({k: v for k, v in complete.items() if k != missing})
    prod = Settings.from_env(complete)
    assert prod.open311_api_keys == () and prod.staff_api_keys == ()
    assert prod.tracker_service_token == ""  # no demo token to call the tracker with


def test_malformed_values_are_named():
    with pytest.raises(SettingsError, match="INTAKE_PORT"):
        Settings.from_env({"INTAKE_PORT": "eighty"})
    with pytest.raises(SettingsError, match="APP_ENV"):
        Settings.from_env({"APP_ENV": "staging"})


def test_embedded_store_uris_turn_retryable_writes_off(tmp_path):
    """SecantusDB slows down past 10,000 recorded retryable writes (devstack's Store.uri says
    why); the default URI and the devstack's both turn them off."""
    from pymongo.uri_parser import parse_uri

    from shared.devstack.processes import Store

    for uri in (Settings().mongo_uri, Store(27999, workdir=tmp_path).uri):
        assert parse_uri(uri)["options"]["retryWrites"] is False, uri
