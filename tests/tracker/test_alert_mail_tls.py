"""The staff's alert mail goes through the same mail relay settings as the citizens' mail
(declared once: `Settings.smtp`), opened the same way: STARTTLS checks the relay's
certificate against SMTP_CA_FILE, so an untrusted relay gets no mail and no password."""

from __future__ import annotations

from services.tracker.alerts import store
from services.tracker.alerts.mailer import Mailer
from shared.crypto import FieldCipher
from shared.devstack.mailcatcher import MailCatcher
from shared.settings import Settings
from tests.intake.test_notify_email import _self_signed


def _notification(clock, user: str, n: int) -> dict:
    return {"_id": f"e{n}:{user}", "user": user, "ticket_id": "t",
            "tracking_code": f"HCM-2026-00000{n}", "department": "d", "level": "breach",
            "clock": "resolution", "due_at": clock(), "reached_at": clock(),
            "created_at": clock(), "read_at": None, "email_state": "pending",
            "email_attempts": 0}


def test_settings_declare_the_relay_once_for_both_services():
    env = {"SMTP_HOST": "relay.example", "SMTP_PORT": "2525", "SMTP_CA_FILE": "/ca.pem",
           "SMTP_TIMEOUT_SECONDS": "3", "MAIL_FROM": "1022 <a@b.example>"}
    intake = Settings.from_env(env, service="intake").smtp
    tracker = Settings.from_env(env, service="tracker").smtp
    assert intake == tracker
    assert (tracker.host, tracker.port, tracker.ca_file, tracker.timeout_s) == \
        ("relay.example", 2525, "/ca.pem", 3.0)
    for service in ("intake", "tracker"):
        names = Settings.variables(service)
        assert names.count("SMTP_HOST") == 1 and "SMTP_CA_FILE" in names
    assert "SMTP_HOST" not in Settings.variables("classifier")


def test_alert_mail_checks_the_relays_certificate(tmp_path, env, tdb, clock):
    context, cert = _self_signed(tmp_path)
    catcher = MailCatcher(tmp_path / "mail", host="localhost", tls_context=context).start()
    try:
        relay = {**env, "SMTP_HOST": "localhost", "SMTP_PORT": str(catcher.port),
                 "SMTP_STARTTLS": "true"}
        untrusting = Settings.from_env(relay, service="tracker")
        store.set_preferences(tdb, user="a", email="a@x.example", mode="each",
                              cipher=FieldCipher(untrusting.pii_keys), now=clock())
        store.insert_notifications(tdb, [_notification(clock, "a", 1)])
        assert Mailer(settings=untrusting, db=tdb, clock=clock).send_pending() == 0
        assert catcher.messages() == []  # not sent to a relay that could not prove itself
        assert tdb[store.NOTIFICATIONS].find_one({"_id": "e1:a"})["email_attempts"] == 1
        trusting = Settings.from_env({**relay, "SMTP_CA_FILE": str(cert)}, service="tracker")
        assert Mailer(settings=trusting, db=tdb, clock=clock).send_pending() == 1
        assert len(catcher.messages()) == 1
    finally:
        catcher.stop()
