"""The outbox relay: tails the reports collection's change stream and publishes every new
report to Kafka, acks=all, saving its resume point only after the broker acknowledged.

The report document is its own outbox entry, so accepting a report costs exactly one
insert; the relay adds no per-report write (one state write per batch). A crash or an
outage can cause a second publication, never a lost one: consumers dedupe by report id.
If the resume point is gone from the oplog, or the broker comes back without the report
topic (the embedded broker keeps topics in memory), the relay republishes from the store;
and every grace period (and after every reconnection) it republishes whatever no downstream
event confirmed, so a report is never stranded by a broker that forgot it.
It runs on the shared outbox publisher (shared/outbox.py: the lease, in the state document,
the batches, send and wait for acknowledgements) and the shared change-stream source
(shared/stream_outbox.py: resume point, its save, recovery); this module is the reports'
source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bson import ObjectId
from prometheus_client import Counter
from pymongo.database import Database

from services.intake.store import OUTBOX_STATE, REPORTS, WITHOUT_SECRETS
from shared.clock import Clock
from shared.events import Location, ReportSubmittedV1, encode_event
from shared.kafka import Outgoing
from shared.lease import Lease
from shared.outbox import OutboxPublisher, OutboxSpec
from shared.redact import redact_contacts
from shared.settings import Settings
from shared.stream_outbox import ChangeStreamSource
from shared.topics import REPORTS_SUBMITTED

log = logging.getLogger(__name__)

PUBLISHED = Counter("intake_outbox_published_total", "Reports published to Kafka")
REPUBLISHED = Counter("intake_outbox_republished_total",
                      "Reports published again from the store (lost resume point or topic)")

STATE_ID = "reports"
_INSERTS = [{"$match": {"operationType": "insert"}}]


def to_event(doc: dict[str, Any]) -> ReportSubmittedV1:
    location = doc.get("location")
    return ReportSubmittedV1(
        event_id=f"{doc['_id']}:submitted",
        occurred_at=doc["submitted_at"],
        report_id=str(doc["_id"]),
        tracking_code=doc["tracking_code"],
        channel=doc["channel"],
        description=redact_contacts(doc["description"]),
        category_hint=doc.get("category_hint"),
        district=doc.get("district"),
        address=doc.get("address"),
        location=Location(**location) if location else None,
        photo_count=len(doc.get("photo_ids") or []),
        has_contact=bool(doc.get("has_contact")),
        submitted_at=doc["submitted_at"],
        contact_index=doc.get("contact_index") or [],
    )


def backlog(db: Database) -> int:
    """Reports stored after the last one the broker acknowledged."""
    state = db[OUTBOX_STATE].find_one({"_id": STATE_ID}, {"last_id": 1}) or {}
    last_id = state.get("last_id")
    query = {"_id": {"$gt": last_id}} if last_id else {}
    return db[REPORTS].count_documents(query)


class ReportsSource(ChangeStreamSource):
    """The reports collection as an outbox: new reports from its change stream, in batches;
    after a reconnection, what the stream may have missed, from the store."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock, lease: Lease) -> None:
        super().__init__(collection=db[REPORTS], pipeline=_INSERTS, state=db[OUTBOX_STATE],
                         state_id=STATE_ID, lease=lease, clock=clock)
        self.settings = settings
        self.db = db
        # the first full sweep comes one grace period after start (the reports of before
        # are then of age); a reconnection brings it forward to the next round
        grace = settings.relay_grace_seconds
        self._swept_to: ObjectId | None = None
        self._next_sweep = time.monotonic() + grace
        self._next_full_sweep = time.monotonic() + grace

    # -- the change-stream source ----------------------------------------------------------
    def entries(self, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [change["fullDocument"] for change in changes]

    def messages(self, entry: dict[str, Any]) -> list[Outgoing]:
        return [Outgoing(REPORTS_SUBMITTED, str(entry["_id"]).encode(),
                         encode_event(to_event(entry)))]

    def progress(self, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
        last = max(entries, key=lambda d: d["_id"])
        return {"last_id": last["_id"], "last_submitted_at": last["submitted_at"]}

    def mark_published(self, entries: Sequence[dict[str, Any]]) -> None:
        super().mark_published(entries)
        PUBLISHED.inc(len(entries))

    def recover(self, state: dict[str, Any]) -> int:
        last_id = state.get("last_id")
        return self._republish({"$gt": last_id} if last_id else {"$gte": ObjectId("0" * 24)})

    def pending(self, limit: int) -> list[dict[str, Any]]:
        now = time.monotonic()
        if now >= self._next_full_sweep:
            self.sweep_unconfirmed(full=True)
        elif now >= self._next_sweep:
            self.sweep_unconfirmed()
        return super().pending(limit)

    def topics_lost(self, created_topics: list[str]) -> None:
        if REPORTS_SUBMITTED in created_topics:
            since = ObjectId.from_datetime(
                self.clock() - timedelta(hours=self.settings.replay_window_hours))
            n = self._republish({"$gte": since}, {"downstream_confirmed_at": None})
            if n:
                log.warning("report topic was missing: republished %d recent reports", n)

    def disconnect(self) -> None:
        super().disconnect()
        # after any reconnection, check at once what the broker may have lost meanwhile
        self._next_full_sweep = time.monotonic()

    # -- publishing from the store ------------------------------------------------------------
    def _republish(self, ids: dict[str, Any], extra: dict[str, Any] | None = None) -> int:
        """Publish every report whose `_id` matches the range `ids` (and `extra`) straight
        from the store, in id order. One cursor: the client's timeout bounds each of its
        round trips, not its life (measured), while pages of `find().sort().limit()` made
        the embedded store sort the collection once a page (20,000 reports: 0.4 s against
        14 s)."""
        size = self.settings.relay_batch_size
        cursor = self.db[REPORTS].find({"_id": ids, **(extra or {})}, WITHOUT_SECRETS)
        count = self.republish(cursor.sort("_id", 1).batch_size(size), batch_size=size)
        REPUBLISHED.inc(count)
        return count

    def sweep_unconfirmed(self, *, full: bool = False) -> int:
        """Publish again the reports that no downstream event has confirmed within the grace
        period, whatever the broker says about its topics: a broker that lost its memory (the
        embedded one on every restart) gets them back. Consumers drop repeats by report id.
        An ordinary sweep looks at the reports that came of age since the last one; a full
        sweep (every ten grace periods, and after every reconnection) at the whole replay
        window, so a report is never stranded, at the price of a repeat per full sweep while
        downstream is down."""
        now = self.clock()
        window = ObjectId.from_datetime(
            now - timedelta(hours=self.settings.replay_window_hours))
        before = ObjectId.from_datetime(
            now - timedelta(seconds=self.settings.relay_grace_seconds))
        start = window if full or self._swept_to is None else max(window, self._swept_to)
        n = self._republish({"$gte": start, "$lt": before}, {"downstream_confirmed_at": None})
        self._swept_to = before
        grace = self.settings.relay_grace_seconds
        self._next_sweep = time.monotonic() + grace
        if full:
            self._next_full_sweep = time.monotonic() + 10 * grace
        if n:
            log.warning("republished %d reports not confirmed downstream after %.0fs", n, grace)
        return n


class OutboxRelay(OutboxPublisher):
    """The relay: the shared outbox publisher over the reports' source. Of several replicas,
    the one holding the lease (in the state document) publishes."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock,
                 max_backoff_s: float = 5.0, lease_s: float = 15.0) -> None:
        lease = Lease(db[OUTBOX_STATE], STATE_ID, clock=clock,
                      duration=timedelta(seconds=lease_s))
        self.source = ReportsSource(settings=settings, db=db, clock=clock, lease=lease)
        super().__init__(OutboxSpec(name="intake-relay", sources=(self.source,),
                                    batch_size=settings.relay_batch_size,
                                    idle_seconds=settings.relay_idle_seconds,
                                    max_backoff_s=max_backoff_s),
                         settings=settings, lease=lease)

