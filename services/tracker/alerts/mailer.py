"""Alert e-mail through the mail relay the citizens' mail uses (`Settings.smtp`, opened by
`shared.mail.smtp_session`: STARTTLS with a checked certificate). A notification is claimed
(`pending` -> `sending`) before it is sent and marked `sent` after, so two mailers never send
the same one; a refused send goes back to `pending` (retried, at most 5 times). Hourly-digest
notifications wait as `digest` and go in one message per person once an hour."""

from __future__ import annotations

import logging
import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from pymongo.database import Database

from services.tracker.alerts import store
from shared.clock import Clock
from shared.crypto import FieldCipher
from shared.mail import smtp_session
from shared.retry import TRANSIENT
from shared.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
DIGEST_EVERY = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=15)
LEVEL_VI = {"warning": "Sắp đến hạn", "breach": "Quá hạn", "escalation": "Quá hạn kéo dài"}


def line(n: dict[str, Any]) -> str:
    due = n.get("due_at")
    return (f"[{LEVEL_VI.get(n['level'], n['level'])}] {n['tracking_code']} "
            f"({n.get('department') or '-'}, {n['clock']}), hạn {due:%H:%M %d/%m/%Y} UTC"
            if due else f"[{LEVEL_VI.get(n['level'], n['level'])}] {n['tracking_code']}")


class Mailer:
    def __init__(self, *, settings: Settings, db: Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self.cipher = FieldCipher(settings.pii_keys)

    def _send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.settings.mail_from, to, subject
        message.set_content(body)
        with smtp_session(self.settings.smtp) as smtp:
            smtp.send_message(message)

    def send_pending(self, limit: int = 100) -> int:
        col = self.db[store.NOTIFICATIONS]
        now = self.clock()
        col.update_many({"email_state": "sending", "claimed_at": {"$lt": now - STUCK_AFTER}},
                        {"$set": {"email_state": "pending"}})
        sent = 0
        for n in list(col.find({"email_state": "pending"}).limit(limit)):
            claimed = col.update_one({"_id": n["_id"], "email_state": "pending"},
                                     {"$set": {"email_state": "sending", "claimed_at": now}})
            if claimed.modified_count != 1:
                continue  # another mailer took it
            pref = store.preferences(self.db, [n["user"]]).get(n["user"])
            address = store.email_of(pref, self.cipher)
            if not address:
                col.update_one({"_id": n["_id"]}, {"$set": {"email_state": "skip"}})
                continue
            try:
                self._send(address, f"1022 · {line(n)}",
                           f"{line(n)}\n\nXem phiếu trên trang cán bộ 1022.")
            except (OSError, smtplib.SMTPException) as exc:
                attempts = n.get("email_attempts", 0) + 1
                log.warning("alert mail to %s not sent (%s), attempt %d", n["user"],
                            type(exc).__name__, attempts)
                col.update_one({"_id": n["_id"]}, {"$set": {
                    "email_state": "pending" if attempts < MAX_ATTEMPTS else "failed",
                    "email_attempts": attempts}})
                continue
            col.update_one({"_id": n["_id"]}, {"$set": {"email_state": "sent", "sent_at": now}})
            sent += 1
        return sent

    def send_digests(self) -> int:
        col = self.db[store.NOTIFICATIONS]
        now = self.clock()
        users = col.distinct("user", {"email_state": "digest"})
        sent = 0
        for user in users:
            pref = store.preferences(self.db, [user]).get(user) or {}
            last = pref.get("last_digest_at")
            if last is not None and now - last < DIGEST_EVERY:
                continue
            items = list(col.find({"user": user, "email_state": "digest"}).sort("created_at", 1))
            address = store.email_of(pref, self.cipher)
            ids = [n["_id"] for n in items]
            if not address:
                col.update_many({"_id": {"$in": ids}}, {"$set": {"email_state": "skip"}})
                continue
            try:
                self._send(address, f"1022 · {len(items)} cảnh báo hạn xử lý",
                           "\n".join(line(n) for n in items))
            except (OSError, smtplib.SMTPException):
                log.warning("alert digest to %s not sent; next round", user)
                continue
            col.update_many({"_id": {"$in": ids}}, {"$set": {"email_state": "sent",
                                                             "sent_at": now}})
            self.db[store.ALERT_PREFS].update_one({"_id": user}, {"$set": {"last_digest_at": now}})
            sent += 1
        return sent

    def run(self, stop: threading.Event, interval_s: float = 2.0) -> None:
        if not self.settings.smtp_host:
            log.info("SMTP_HOST not set: alert e-mail is off (the notification centre works)")
            return
        while not stop.is_set():
            try:
                self.send_pending()
                self.send_digests()
            except TRANSIENT:
                log.warning("store unavailable; alert mail waits", exc_info=True)
            stop.wait(interval_s)
