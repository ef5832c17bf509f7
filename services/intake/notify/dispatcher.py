"""Sends what the notification outbox holds.

Each round reads the due rows, claims each one (several replicas may run: a row is sent by
the one whose claim succeeded), decrypts the contact, renders the message in the report's
language and hands it to the channel's sender. A temporary failure schedules the row again
with backoff and pauses that channel for the same delay (a provider that is down is not
hammered by every row of the burst); a permanent one, or still failing after the give-up
window, marks it failed for the operators. SMS for a non-urgent report waits out the quiet
hours. Logs and metrics name rows, kinds and channels: never a contact."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from pymongo.database import Database

from services.intake import citizen_keys
from services.intake.notify import outbox
from services.intake.notify.links import links_for
from services.intake.notify.messages import render
from services.intake.notify.policy import backoff, quiet_until
from services.intake.notify.senders import PermanentFailure, Sender, TemporaryFailure
from services.intake.store import REPORTS
from shared.clock import Clock
from shared.crypto import FieldCipher, PiiDecryptionError
from shared.doorbell import Doorbell
from shared.retry import TRANSIENT, Outage
from shared.settings import NotifySettings

log = logging.getLogger(__name__)
OUTCOMES = Counter("intake_notifications_total", "Notification send attempts by outcome",
                   ["channel", "outcome"])
# where each channel's contact is (the caller's number when the operator took no other)
CONTACT_FIELDS = {"email": ("email",), "sms": ("phone", "caller_phone"),
                  "zalo": ("phone", "caller_phone")}
QUIET_CHANNELS = frozenset({"sms"})


@dataclass
class Dispatcher:
    db: Database
    cipher: FieldCipher
    senders: Mapping[str, Sender]
    clock: Clock
    settings: NotifySettings
    public_base_url: str
    secret_key: str
    timezone: str
    lease: timedelta = timedelta(seconds=60)
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    paused_until: dict[str, datetime] = field(default_factory=dict)
    failures_in_row: dict[str, int] = field(default_factory=dict)

    def run_once(self) -> int:
        """One round; returns how many rows it finished or rescheduled."""
        now = self.clock()
        handled = 0
        for row in outbox.due(self.db, now=now, limit=self.settings.batch_size):
            paused = self.paused_until.get(row["channel"])
            if paused is not None and paused > now:
                continue
            token = f"{self.owner}:{uuid.uuid4().hex[:8]}"
            if not outbox.claim(self.db, row, token=token, until=now + self.lease):
                continue
            self._handle(row, token)
            handled += 1
        return handled

    def _handle(self, row: dict[str, Any], token: str) -> None:
        now = self.clock()
        channel = row["channel"]
        report = self.db[REPORTS].find_one(
            {"_id": row["report_id"]},
            {"pii": 1, "notify": 1, "citizen_key": 1, "classification": 1, "tracking_code": 1})
        notify = (report or {}).get("notify") or {}
        if report is None or not notify.get("consent") or notify.get("unsubscribed_at"):
            self._finish(row, token, outbox.CANCELLED, "unsubscribed", now, attempt=False)
            return
        urgent = bool((report.get("classification") or {}).get("urgent"))
        if channel in QUIET_CHANNELS and not urgent:
            wake = quiet_until(now, tz=self.timezone, start_hour=self.settings.quiet_start_hour,
                               end_hour=self.settings.quiet_end_hour)
            if wake is not None:
                outbox.finish(self.db, row, token=token, count_attempt=False,
                              fields={"due_at": wake, "updated_at": now,
                                      "last_error": "quiet hours"})
                OUTCOMES.labels(channel, "deferred_quiet").inc()
                return
        contact = self._contact(report, channel)
        if contact is None:
            self._finish(row, token, outbox.FAILED, "no contact for this channel", now)
            return
        sender = self.senders.get(channel)
        if sender is None:
            self._retry(row, token, "channel not configured", now)
            return
        links = links_for(base_url=self.public_base_url, secret_key=self.secret_key,
                          report_id=str(report["_id"]), tracking_code=report["tracking_code"],
                          lang=row["lang"])
        key = citizen_keys.stored_key(report, self.cipher) if row["kind"] == "received" else None
        message = render(kind=row["kind"], lang=row["lang"], code=report["tracking_code"],
                         links=links, key=key, department=row.get("department"),
                         note=row.get("note"))
        try:
            provider_id = sender.send(contact, message, row["_id"])
        except PermanentFailure as exc:
            self._finish(row, token, outbox.FAILED, exc.reason, now)
            return
        except TemporaryFailure as exc:
            self._retry(row, token, exc.reason, now)
            self._pause(channel, now)
            return
        self.failures_in_row[channel] = 0
        self.paused_until.pop(channel, None)
        outbox.finish(self.db, row, token=token,
                      fields={"state": outbox.SENT, "sent_at": self.clock(),
                              "updated_at": self.clock(), "provider_id": provider_id,
                              "last_error": None})
        OUTCOMES.labels(channel, "sent").inc()
        log.info("notification %s sent (%s, %s)", row["_id"], row["kind"], channel)

    def _contact(self, report: dict[str, Any], channel: str) -> str | None:
        pii = report.get("pii") or {}
        token = next((pii[f] for f in CONTACT_FIELDS.get(channel, ()) if pii.get(f)), None)
        if not token:
            return None
        try:
            return self.cipher.decrypt(token)
        except PiiDecryptionError:
            return None

    def _finish(self, row: dict[str, Any], token: str, state: str, reason: str,
                now: datetime, attempt: bool = True) -> None:
        outbox.finish(self.db, row, token=token, count_attempt=attempt,
                      fields={"state": state, "last_error": reason, "updated_at": now})
        OUTCOMES.labels(row["channel"], state).inc()
        if state == outbox.FAILED:
            log.warning("notification %s failed for good (%s, %s): %s", row["_id"],
                        row["kind"], row["channel"], reason)

    def _retry(self, row: dict[str, Any], token: str, reason: str, now: datetime) -> None:
        attempts = row.get("attempts", 0) + 1
        if (now - row["created_at"]).total_seconds() >= self.settings.give_up_after_s:
            self._finish(row, token, outbox.FAILED, f"gave up: {reason}", now)
            return
        delay = backoff(attempts, base_s=self.settings.retry_base_s,
                        max_s=self.settings.retry_max_s)
        outbox.finish(self.db, row, token=token,
                      fields={"due_at": now + delay, "last_error": reason, "updated_at": now})
        OUTCOMES.labels(row["channel"], "retry").inc()

    def _pause(self, channel: str, now: datetime) -> None:
        count = self.failures_in_row.get(channel, 0) + 1
        self.failures_in_row[channel] = count
        self.paused_until[channel] = now + backoff(count, base_s=self.settings.retry_base_s,
                                                   max_s=self.settings.retry_max_s)

    def idle_wait_s(self, now: datetime) -> float:
        """How long a dispatcher that found nothing to send may wait before it looks again:
        until the next row falls due (a retry, quiet hours, a dead replica's claim), at least
        `idle_s`, at most `idle_max_s`. New rows ring the doorbell meanwhile (`run`)."""
        wake = outbox.next_due(self.db)
        if wake is not None and wake <= now:
            # due but not sent: its channel is paused (or another replica just claimed it)
            pauses = [until for until in self.paused_until.values() if until > now]
            wake = min(pauses) if pauses else now
        seconds = self.settings.idle_max_s if wake is None else (wake - now).total_seconds()
        return min(max(seconds, self.settings.idle_s), self.settings.idle_max_s)

    def run(self, stop: threading.Event) -> None:
        """Send rounds until `stop`. Between rounds that found nothing, wait on the outbox's
        change stream (a new row is sent at once) until the next row falls due, instead of
        asking the store every `idle_s`."""
        outage = Outage("intake-notifier", logger=log)
        doorbell = Doorbell(self.db[outbox.NOTIFICATIONS],
                            await_s=min(1.0, self.settings.idle_max_s),
                            min_interval_s=self.settings.idle_s)
        try:
            while not stop.is_set():
                try:
                    doorbell.arm()  # before the round: a row inserted during it rings
                    if not self.run_once():
                        doorbell.wait(self.idle_wait_s(self.clock()), stop)
                except TRANSIENT as exc:
                    doorbell.close()
                    stop.wait(outage.failed(exc))
                    continue
                outage.recovered()
        finally:
            doorbell.close()
