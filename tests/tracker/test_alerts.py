"""SLA alerts reach people, end to end on the embedded stack with an injected clock: the
monitor claims, the publisher sends to `sla.alerts`, the alerts consumer (on the shared loop)
makes one notification per person and the mailer sends through a real SMTP server
(aiosmtpd). A warning reaches the ticket's owner; a breach its supervisors, in-app and by
e-mail; a consumer stopped and started again, and a second consumer reading everything again,
notify nobody twice."""

from __future__ import annotations

import threading
import time

import pytest

from services.tracker.alerts import store
from services.tracker.alerts.consumer import spec
from services.tracker.alerts.mailer import Mailer
from services.tracker.alerts.recipients import recipients
from services.tracker.config import ConfigSource
from services.tracker.monitor import sweep
from services.tracker.publisher import Publisher
from shared.consumer import Consumer
from shared.crypto import FieldCipher
from shared.devstack import free_port
from shared.events import SlaAlertV1
from shared.kafka import ensure_topics
from shared.settings import Settings
from shared.topics import SLA_ALERTS
from tests.helpers import group_at_end, running, wait_until
from tests.tracker.conftest import auth


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Catch(Message):
        def handle_message(self, message) -> None:
            received.append(message)

    controller = Controller(Catch(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, received
    controller.stop()


def _mail_settings(env: dict[str, str], port: int) -> Settings:
    return Settings.from_env({**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                              "SMTP_STARTTLS": "false"})


_PUBLISHERS: dict[int, Publisher] = {}


def _publish(settings, tdb, clock) -> None:
    """One publisher per test store: a second one would wait for the first one's lease."""
    publisher = _PUBLISHERS.get(id(tdb))
    if publisher is None:
        publisher = _PUBLISHERS[id(tdb)] = Publisher(settings=settings, db=tdb, clock=clock)
        assert publisher.lease.acquire()
        publisher.connect()
    while publisher.publish_once()[1]:  # (published, a source had a full batch)
        pass


def _mine(tdb, ticket_id: str) -> list[tuple[str, str]]:
    return sorted((n["user"], n["level"]) for n in tdb[store.NOTIFICATIONS].find(
        {"ticket_id": ticket_id}))


def test_warning_to_owner_breach_to_supervisor_once_each(env, tdb, config, clock, client,
                                                        make_ticket, smtp):
    port, received = smtp
    settings = _mail_settings(env, port)
    ensure_topics(settings)
    source = ConfigSource.fixed(config)
    group = group_at_end(settings.kafka_bootstrap, SLA_ALERTS, prefix="alerts")
    ticket = make_ticket(urgent=True)  # traffic, so_xay_dung; first response 1 h, 24/7
    tid = ticket["_id"]
    assert client.post(f"/api/v1/tickets/{tid}/take", headers=auth("handler")).status_code \
        == 200
    cipher = FieldCipher(settings.pii_keys)
    store.set_preferences(tdb, user="supervisor.minh", email="minh@so.hcm.example",
                          mode="each", cipher=cipher, now=clock())
    mailer = Mailer(settings=settings, db=tdb, clock=clock)

    def consume(stop: threading.Event) -> None:
        Consumer(spec(tdb, source, group_id=group), settings=settings, clock=clock).run(stop)

    with running(consume):
        clock.advance(minutes=45)  # 75 % of the first-response target
        sweep(db=tdb, config=config, now=clock())
        _publish(settings, tdb, clock)
        assert wait_until(lambda: _mine(tdb, tid) == [("handler.xaydung", "warning")], 30)
        clock.advance(minutes=15)  # breach
        sweep(db=tdb, config=config, now=clock())
        _publish(settings, tdb, clock)
        assert wait_until(lambda: ("supervisor.minh", "breach") in _mine(tdb, tid), 30)
        mailer.send_pending()
        mailer.send_pending()  # a second round sends nothing again
        time.sleep(1.0)
    assert _mine(tdb, tid) == [("handler.xaydung", "warning"), ("supervisor.minh", "breach")]
    assert len(received) == 1 and received[0]["To"] == "minh@so.hcm.example"
    assert ticket["tracking_code"] in received[0]["Subject"]
    # the consumer killed and restarted on its group, then another reading everything again
    again = group_at_end(settings.kafka_bootstrap, SLA_ALERTS, prefix="alerts-replay")
    tdb["sla_alerts"].update_many({}, {"$set": {"pending": True}})  # published again, too
    with running(consume):
        _publish(settings, tdb, clock)
        time.sleep(3.0)

    def replay(stop: threading.Event) -> None:
        Consumer(spec(tdb, source, group_id=again + "-x"), settings=settings,
                 clock=clock).run(stop)
    with running(replay):
        time.sleep(6.0)
    mailer.send_pending()
    assert _mine(tdb, tid) == [("handler.xaydung", "warning"), ("supervisor.minh", "breach")]
    assert len(received) == 1
    # the notification centre: the handler's unread count, then read
    page = client.get("/api/v1/notifications", headers=auth("handler")).json
    assert page["unread"] == 1 and page["items"][0]["tracking_code"] == ticket["tracking_code"]
    nid = page["items"][0]["id"]
    assert client.post(f"/api/v1/notifications/{nid}/read", headers=auth("handler")
                       ).json["unread"] == 0
    assert client.post(f"/api/v1/notifications/{nid}/read", headers=auth("other_handler")
                       ).status_code == 404


def test_recipients_rules(config):
    from datetime import UTC, datetime

    from services.tracker.alerts.recipients import directory_principals

    staff = directory_principals(config.staff)
    at = datetime(2026, 12, 1, tzinfo=UTC)

    def event(level: str) -> SlaAlertV1:
        return SlaAlertV1(event_id=f"t:resolution:{level}", occurred_at=at, ticket_id="t",
                          tracking_code="HCM-2026-000001", department="so_xay_dung",
                          category="traffic", urgent=False, clock="resolution", level=level,
                          due_at=at, reached_at=at)
    assert recipients(event("warning"), assignee="x.y", staff=staff) == ["x.y"]
    assert recipients(event("warning"), assignee=None, staff=staff) == ["handler.xaydung"]
    assert recipients(event("breach"), assignee="x.y", staff=staff) == ["supervisor.minh"]
    assert recipients(event("escalation"), assignee=None, staff=staff) == ["supervisor.minh"]


def test_hourly_digest_and_none(tdb, env, clock, smtp):
    port, received = smtp
    settings = _mail_settings(env, port)
    cipher = FieldCipher(settings.pii_keys)
    store.set_preferences(tdb, user="a", email="a@x.example", mode="hourly", cipher=cipher,
                          now=clock())
    store.set_preferences(tdb, user="b", email="b@x.example", mode="none", cipher=cipher,
                          now=clock())
    prefs = store.preferences(tdb, ["a", "b"])
    docs = [{"_id": f"e{i}:{u}", "user": u, "ticket_id": "t", "tracking_code": f"C-{i}",
             "department": "d", "level": "breach", "clock": "resolution", "due_at": clock(),
             "reached_at": clock(), "created_at": clock(), "read_at": None,
             "email_state": store.email_state(prefs[u]), "email_attempts": 0}
            for i in range(3) for u in ("a", "b")]
    assert store.insert_notifications(tdb, docs) == 6
    assert store.insert_notifications(tdb, docs) == 0  # replayed: nothing new
    mailer = Mailer(settings=settings, db=tdb, clock=clock)
    assert mailer.send_pending() == 0
    assert mailer.send_digests() == 1
    assert [m["To"] for m in received] == ["a@x.example"]
    assert all(f"C-{i}" in received[0].get_payload() for i in range(3))
    store.insert_notifications(tdb, [{**docs[0], "_id": "later:a"}])
    assert mailer.send_digests() == 0  # within the hour
    clock.advance(hours=1)
    assert mailer.send_digests() == 1 and len(received) == 2
    stored = tdb[store.ALERT_PREFS].find_one({"_id": "a"})
    assert "a@x.example" not in str(stored)  # encrypted at rest
