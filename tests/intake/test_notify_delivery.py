"""Sending the notification outbox through the SMS/Zalo gateway adapter: failures on demand
(5xx, timeouts, malformed replies, refusals), retries with backoff, nothing sent twice."""

from __future__ import annotations

from datetime import timedelta

from services.intake.notify import outbox
from services.intake.notify.dispatcher import Dispatcher
from services.intake.notify.senders import HttpGatewaySender
from services.intake.reports.service import NewReport, submit_report
from services.intake.tracking import TrackingCodes
from shared.crypto import FieldCipher
from shared.settings import GatewaySettings, NotifySettings, Settings
from tests.intake.notify_support import FakeGateway, running

FAST = NotifySettings(retry_base_s=1.0, retry_max_s=8.0, batch_size=500, idle_s=0.0)


def file_reports(db, settings: Settings, clock, count: int, *, channel: str = "sms") -> None:
    cipher = FieldCipher(settings.pii_keys)
    codes = TrackingCodes(db, prefix=settings.tracking_prefix, timezone=settings.timezone)
    for i in range(count):
        submit_report(db=db, cipher=cipher, codes=codes, clock=clock, report=NewReport(
            channel="web", description=f"Đèn đường số {i} bị hỏng từ tuần trước, tối om.",
            phone=f"+8490{i:07d}", notify_channels=(channel,)))


def dispatcher(db, settings: Settings, clock, gateway: FakeGateway, *, channel: str = "sms",
               timeout_s: float = 2.0, notify: NotifySettings = FAST) -> Dispatcher:
    sender = HttpGatewaySender(channel, GatewaySettings(url=gateway.url, token="t0ken",
                                                       timeout_s=timeout_s))
    return Dispatcher(db=db, cipher=FieldCipher(settings.pii_keys), senders={channel: sender},
                      clock=clock, settings=notify, public_base_url="http://1022.test",
                      secret_key=settings.secret_key, timezone=settings.timezone)


def drain(d: Dispatcher, clock, *, rounds: int, step_s: float = 1.0) -> int:
    for i in range(rounds):
        d.run_once()
        if not d.db[outbox.NOTIFICATIONS].count_documents({"state": outbox.PENDING}):
            return i
        clock.advance(seconds=step_s)
    return rounds


def test_provider_down_30s_mid_burst_of_200_delivers_all_once(db, settings, clock):
    file_reports(db, settings, clock, 200)
    assert db[outbox.NOTIFICATIONS].count_documents({"state": outbox.PENDING}) == 200
    down: dict = {}

    def mode(body: dict) -> str:
        if "from" not in down and len(gateway.delivered) >= 60:
            down["from"] = clock()
        if "from" in down and clock() < down["from"] + timedelta(seconds=30):
            return "5xx"
        return "ok"

    gateway = FakeGateway(mode=mode)
    with running(gateway):
        d = dispatcher(db, settings, clock, gateway)
        # the first round sends 60, hits the outage and pauses the channel
        drain(d, clock, rounds=120)
    rows = list(db[outbox.NOTIFICATIONS].find())
    assert "from" in down, "the provider never went down: the test proves nothing"
    assert {r["state"] for r in rows} == {outbox.SENT}
    assert len(gateway.delivered) == 200
    assert set(gateway.delivered) == {r["_id"] for r in rows}
    assert max(gateway.delivered.values()) == 1
    # while down the channel is paused with backoff: a few probes, not 140 rows x retries
    refused = len(gateway.requests) - 200
    print(f"refused while down: {refused}")
    assert 1 <= refused <= 10
    # what the gateway got: the short text, the bearer token, never more than the phone
    first = gateway.requests[0]
    assert first["headers"]["Authorization"] == "Bearer t0ken"
    assert first["body"]["to"].startswith("+8490")
    assert "Ma bi mat" in first["body"]["text"]


def test_timeouts_and_malformed_replies_are_retried_without_sending_twice(db, settings,
                                                                         clock):
    file_reports(db, settings, clock, 12, channel="zalo")
    calls: dict = {}

    def mode(body: dict) -> str:
        n = calls[body["idempotency_key"]] = calls.get(body["idempotency_key"], 0) + 1
        if n == 1:
            return ("timeout", "malformed", "5xx")[len(calls) % 3]
        return "ok"

    gateway = FakeGateway(mode=mode, slow_s=0.6)
    with running(gateway):
        d = dispatcher(db, settings, clock, gateway, channel="zalo", timeout_s=0.3)
        drain(d, clock, rounds=200, step_s=2.0)
    rows = list(db[outbox.NOTIFICATIONS].find())
    assert {r["state"] for r in rows} == {outbox.SENT}
    assert all(r["attempts"] == 2 for r in rows)  # one failure each, then delivered
    assert max(gateway.delivered.values()) == 1 and len(gateway.delivered) == 12
    # the repeat carried the same idempotency key, which is what kept it from a second SMS
    keys = [r["headers"]["Idempotency-Key"] for r in gateway.requests]
    assert sorted(set(keys)) == sorted(r["_id"] for r in rows) and len(keys) == 24


def test_permanent_refusal_stops_and_is_shown_to_operators(db, settings, clock, client):
    file_reports(db, settings, clock, 2)
    gateway = FakeGateway(mode=lambda body: "400")
    with running(gateway):
        d = dispatcher(db, settings, clock, gateway)
        drain(d, clock, rounds=5)
    rows = list(db[outbox.NOTIFICATIONS].find())
    assert {(r["state"], r["attempts"], r["last_error"]) for r in rows} == {
        (outbox.FAILED, 1, "sms http 400")}
    assert len(gateway.requests) == 2
    assert client.get("/api/v1/notifications").status_code == 401
    listed = client.get("/api/v1/notifications", headers={"X-API-Key": "demo-operator"}).json
    assert {i["id"] for i in listed["items"]} == {r["_id"] for r in rows}
    assert all(i["last_error"] == "sms http 400" for i in listed["items"])
    assert "+8490" not in str(listed)


def test_temporary_failures_give_up_after_the_window(db, settings, clock):
    file_reports(db, settings, clock, 1)
    gateway = FakeGateway(mode=lambda body: "5xx")
    notify = NotifySettings(retry_base_s=60, retry_max_s=600, give_up_after_s=3600,
                            idle_s=0.0)
    with running(gateway):
        d = dispatcher(db, settings, clock, gateway, notify=notify)
        drain(d, clock, rounds=200, step_s=60)
    row = db[outbox.NOTIFICATIONS].find_one()
    assert row["state"] == outbox.FAILED and row["last_error"] == "gave up: sms http 503"
    assert 4 <= row["attempts"] <= 10  # backoff: 1, 2, 4, 8, 10 min..., not one per minute


def test_no_sms_in_quiet_hours_for_non_urgent_reports_but_urgent_ones_go(db, settings,
                                                                         clock):
    clock.advance(hours=13)  # 16:00 UTC = 23:00 in Ho Chi Minh City
    file_reports(db, settings, clock, 2)
    urgent = db.reports.find_one(sort=[("_id", 1)])
    db.reports.update_one({"_id": urgent["_id"]}, {"$set": {"classification.urgent": True}})
    gateway = FakeGateway()
    with running(gateway):
        d = dispatcher(db, settings, clock, gateway)
        d.run_once()
        assert len(gateway.delivered) == 1  # the urgent one
        waiting = db[outbox.NOTIFICATIONS].find_one({"state": outbox.PENDING})
        # 07:00 local the next morning = 00:00 UTC
        assert waiting["due_at"].hour == 0 and waiting["attempts"] == 0
        clock.advance(hours=7, minutes=59)  # 06:59 local
        d.run_once()
        assert len(gateway.delivered) == 1
        clock.advance(minutes=1)
        d.run_once()
    assert len(gateway.delivered) == 2


def test_two_replicas_send_each_notification_once(db, settings, clock, mongo):
    """Two dispatchers (as two notifier replicas, each with its own store client) drain the
    same outbox at once: every row goes out once, not once per replica."""
    import threading

    from pymongo import MongoClient

    file_reports(db, settings, clock, 60)
    gateway = FakeGateway()
    other = MongoClient(settings.mongo_uri, tz_aware=True)
    try:
        with running(gateway):
            replicas = [dispatcher(db, settings, clock, gateway),
                        dispatcher(other[settings.mongo_db], settings, clock, gateway)]
            threads = [threading.Thread(target=r.run_once) for r in replicas]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
    finally:
        other.close()
    assert len(gateway.requests) == 60  # no row was sent by both
    assert db[outbox.NOTIFICATIONS].count_documents({"state": outbox.SENT}) == 60


def test_a_crash_after_claiming_resends_after_the_lease_with_the_same_key(db, settings,
                                                                          clock):
    file_reports(db, settings, clock, 1)
    row = db[outbox.NOTIFICATIONS].find_one()
    # a replica claimed the row and died before sending or marking it
    assert outbox.claim(db, row, token="dead-replica", until=clock() + timedelta(seconds=60))
    gateway = FakeGateway()
    with running(gateway):
        d = dispatcher(db, settings, clock, gateway)
        d.run_once()
        assert gateway.requests == []  # the lease still runs
        clock.advance(seconds=61)
        d.run_once()
    assert [r["headers"]["Idempotency-Key"] for r in gateway.requests] == [row["_id"]]
    assert db[outbox.NOTIFICATIONS].find_one()["state"] == outbox.SENT
