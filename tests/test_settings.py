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
                "SECRET_KEY": "s" * 40, "CONTACT_INDEX_KEY": "c" * 40,
                "MODEL_SIGNING_KEY": "m" * 40}
    for missing in ("STAFF_USERS_FILE", "SECRET_KEY", "CONTACT_INDEX_KEY", "MODEL_SIGNING_KEY"):
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


PRODUCTION_TRACKER = {"APP_ENV": "production", "STAFF_USERS_FILE": "/run/secrets/staff.json",
                      "SECRET_KEY": "s" * 40, "PII_KEYS": "k" * 43 + "=",
                      "CONTACT_INDEX_KEY": "c" * 40}


def test_each_service_reads_only_its_own_settings():
    real_key = "k" * 43 + "="
    env = {"PII_KEYS": real_key, "TRACKER_SERVICE_TOKEN": "intake-token",
           "CLASSIFIER_BATCH_SIZE": "7", "SECRET_KEY": "s" * 40}
    classifier = Settings.from_env(env, service="classifier")
    assert real_key not in classifier.pii_keys
    assert classifier.tracker_service_token != "intake-token"
    assert classifier.secret_key != "s" * 40 and classifier.classifier_batch_size == 7
    intake = Settings.from_env(env, service="intake")
    assert intake.pii_keys == (real_key,) and intake.tracker_service_token == "intake-token"
    assert intake.classifier_batch_size == 500  # not intake's: not read
    for secret in ("PII_KEYS", "SECRET_KEY", "TRACKER_SERVICE_TOKEN", "STAFF_USERS_FILE"):
        assert secret not in Settings.variables("classifier")
    assert "STAFF_USERS_FILE" not in Settings.variables("intake")
    # the tracker encrypts the staff's alert e-mail addresses (issue 20)
    assert "PII_KEYS" in Settings.variables("tracker")
    assert "CONTACT_INDEX_KEY" in Settings.variables("tracker")
    assert "CONTACT_INDEX_KEY" in Settings.variables("intake")
    assert "CONTACT_INDEX_KEY" not in Settings.variables("classifier")
    assert "SMTP_HOST" in Settings.variables("tracker")


def test_production_checks_apply_to_what_the_service_reads():
    """The tracker does not send the citizen's token to itself, so production does not ask
    it for TRACKER_SERVICE_TOKEN; intake does not read the staff directory, so production
    does not ask intake for it."""
    tracker = Settings.from_env(PRODUCTION_TRACKER, service="tracker")
    assert tracker.tracker_service_token == ""
    for missing in ("STAFF_USERS_FILE", "PII_KEYS", "CONTACT_INDEX_KEY"):
        with pytest.raises(SettingsError, match=missing):
            Settings.from_env({k: v for k, v in PRODUCTION_TRACKER.items()
                               if k != missing}, service="tracker")
    with pytest.raises(SettingsError, match="CONTACT_INDEX_KEY"):
        Settings.from_env({**PRODUCTION_TRACKER, "CONTACT_INDEX_KEY": "short"},
                          service="tracker")
    intake = Settings.from_env({"APP_ENV": "production", "PII_KEYS": "k" * 43 + "=",
                                "SECRET_KEY": "s" * 40, "CONTACT_INDEX_KEY": "c" * 40},
                               service="intake")
    assert intake.staff_users_file is None and intake.open311_api_keys == ()
    with pytest.raises(SettingsError, match="MODEL_SIGNING_KEY"):
        Settings.from_env({"APP_ENV": "production"}, service="classifier")
    classifier = Settings.from_env({"APP_ENV": "production", "MODEL_SIGNING_KEY": "m" * 40},
                                   service="classifier")
    assert classifier.pii_keys == () and classifier.secret_key == ""
    assert "MODEL_SIGNING_KEY" not in Settings.variables("intake")
    with pytest.raises(SettingsError, match="service"):
        Settings.from_env({}, service="billing")
