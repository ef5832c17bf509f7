"""Accepting reports and answering their status. One write per report: the report
document is also its outbox entry, so it is stored and queued for Kafka atomically."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from services.intake import citizen_keys
from services.intake.errors import IdempotencyConflict
from services.intake.notify.outbox import enqueue
from services.intake.notify.plan import plan_received
from services.intake.reports.photos import Photo
from services.intake.store import PHOTOS, REPORTS, WITHOUT_SECRETS
from services.intake.tracking import TrackingCodes
from shared.blind_index import BlindIndex
from shared.clock import Clock
from shared.crypto import FieldCipher
from shared.limits import REOPEN_WINDOW
from shared.redact import redact_contacts
from shared.tickets import FINAL_STATES, STATES, TicketState
from shared.web.i18n import label

log = logging.getLogger(__name__)
# A report's status: intake's own two before the tracker has a ticket, then the ticket's state.
S = TicketState
REPORT_STATUSES: tuple[str, ...] = ("received", "classified", *STATES)
CLOSED_STATUSES = FINAL_STATES


def status_label(status: str) -> str:
    """The status in Vietnamese (the JSON API's and Open311's `status_label`), from the
    translation catalogue."""
    return label("status", status, "vi")


@dataclass(frozen=True)
class NewReport:
    channel: str
    description: str
    category_hint: str | None = None
    district: str | None = None
    address: str | None = None
    lat: float | None = None
    long: float | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    caller_phone: str | None = None
    operator_id: str | None = None
    call_id: str | None = None
    media_url: str | None = None
    photos: list[Photo] = field(default_factory=list)
    notify_channels: tuple[str, ...] = ()  # the citizen's consent to news, per channel
    language: str = "vi"


@dataclass(frozen=True)
class Submitted:
    doc: dict[str, Any]
    created: bool
    citizen_key: str | None  # for the first answer only; None for reports older than keys


def _pii(report: NewReport, cipher: FieldCipher, public_description: str) -> dict[str, str]:
    plain = {"name": report.name, "phone": report.phone, "email": report.email,
             "caller_phone": report.caller_phone}
    if public_description != report.description:
        plain["description"] = report.description
    return {key: cipher.encrypt(value) for key, value in plain.items() if value}


def build_document(report: NewReport, *, report_id: ObjectId, tracking_code: str,
                   citizen_key: str, cipher: FieldCipher, now: datetime,
                   photo_ids: list[ObjectId], idempotency_key: str | None,
                   fingerprint: str | None, blind: BlindIndex | None = None
                   ) -> dict[str, Any]:
    # Contacts typed into the text are masked in the stored copy; the original is kept
    # encrypted with the other personal fields.
    description = redact_contacts(report.description)
    pii = _pii(report, cipher, description)
    doc: dict[str, Any] = {
        "_id": report_id,
        "tracking_code": tracking_code,
        "citizen_key": cipher.encrypt(citizen_key),
        "channel": report.channel,
        "description": description,
        "category_hint": report.category_hint,
        "district": report.district,
        "address": report.address,
        "location": ({"lat": report.lat, "long": report.long}
                     if report.lat is not None and report.long is not None else None),
        "pii": pii,
        "has_contact": bool(pii.keys() - {"description"}),
        "photo_ids": photo_ids,
        "media_url": report.media_url,
        "submitted_at": now,
        "updated_at": now,
        "status": "received",
        "service_code": report.category_hint,
        "agency_responsible": None,
        "expected_datetime": None,
        "public_notes": [],
        "contact_index": blind.phones(report.phone, report.caller_phone) if blind else [],
    }
    doc["language"] = report.language
    if report.notify_channels:
        doc["notify"] = {"consent": True, "channels": list(report.notify_channels),
                         "lang": report.language, "consented_at": now}
    if report.operator_id:
        doc["call"] = {"operator_id": report.operator_id, "call_id": report.call_id}
    if idempotency_key:
        doc["idempotency_key"] = idempotency_key
        doc["request_fingerprint"] = fingerprint
    return doc


def submit_report(*, db: Database, report: NewReport, cipher: FieldCipher,
                  codes: TrackingCodes, clock: Clock, idempotency_key: str | None = None,
                  fingerprint: str | None = None,
                  insert: Callable[[dict[str, Any]], None] | None = None,
                  blind: BlindIndex | None = None) -> Submitted:
    """Store the report (and its photos). With an idempotency key already used, return the
    first report instead; with the same key but another request, raise IdempotencyConflict."""
    if idempotency_key:
        existing = db[REPORTS].find_one({"idempotency_key": idempotency_key})
        if existing is not None:
            return _replay(existing, fingerprint, cipher)
    now = clock()
    report_id = ObjectId()
    photo_ids = store_photos(db=db, report_id=report_id, photos=report.photos, cipher=cipher,
                             now=now)
    key = citizen_keys.new_key()
    doc = build_document(report, report_id=report_id, tracking_code=codes.issue(now),
                         citizen_key=key, cipher=cipher, now=now, photo_ids=photo_ids,
                         idempotency_key=idempotency_key, fingerprint=fingerprint,
                         blind=blind)
    try:
        (insert or db[REPORTS].insert_one)(doc)
    except DuplicateKeyError:
        if photo_ids:
            db[PHOTOS].delete_many({"_id": {"$in": photo_ids}})
        existing = db[REPORTS].find_one({"idempotency_key": idempotency_key})
        if existing is None:
            raise
        return _replay(existing, fingerprint, cipher)
    except Exception:
        if photo_ids:
            db[PHOTOS].delete_many({"_id": {"$in": photo_ids}})
        raise
    queue_received(db=db, doc=doc, now=now)
    return Submitted(doc, created=True, citizen_key=key)


def queue_received(*, db: Database, doc: dict[str, Any], now: datetime) -> None:
    """The "received" message, queued at once. The report is already accepted: a store error
    here only delays the message (the ticket's creation event queues it again)."""
    if not doc.get("notify"):
        return
    try:
        enqueue(db, plan_received(doc, now=now))
    except PyMongoError:
        log.warning("report %s: received notification not queued yet", doc["_id"])


def _replay(existing: dict[str, Any], fingerprint: str | None,
            cipher: FieldCipher) -> Submitted:
    if existing.get("request_fingerprint") != fingerprint:
        raise IdempotencyConflict()
    return Submitted(existing, created=False,
                     citizen_key=citizen_keys.stored_key(existing, cipher))


def find_by_tracking_code(*, db: Database, tracking_code: str,
                          with_key: bool = False) -> dict[str, Any] | None:
    """The report without its personal fields; `with_key` keeps the encrypted citizen's key,
    for checking what a citizen typed (`citizen_keys.matches`)."""
    projection = {"pii": 0} if with_key else WITHOUT_SECRETS
    return db[REPORTS].find_one({"tracking_code": tracking_code}, projection)


def store_photos(*, db: Database, report_id: ObjectId, photos: list[Photo], cipher: FieldCipher,
                 now: datetime, source: str = "report") -> list[ObjectId]:
    """Photos (EXIF already stripped) encrypted at rest, attached to the report."""
    ids = []
    for photo in photos:
        photo_id = ObjectId()
        db[PHOTOS].insert_one({"_id": photo_id, "report_id": report_id, "source": source,
                               "content_type": photo.content_type, "size": len(photo.data),
                               "data": cipher.encrypt_bytes(photo.data), "encrypted": True,
                               "stored_at": now})
        ids.append(photo_id)
    return ids


def citizen_reply(*, db: Database, settings: Any, report: dict[str, Any], text: str | None,
                  photos: list[Photo], cipher: FieldCipher, now: datetime,
                  forward: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Store the answer's photos, then hand the answer to the tracker (`forward`, which owns
    the ticket and refuses when it does not wait for the citizen); the photos go again when
    it refuses, so nothing unreferenced stays."""
    photo_ids = store_photos(db=db, report_id=report["_id"], photos=photos, cipher=cipher,
                             now=now, source="reply")
    try:
        return forward(settings, report["tracking_code"], "reply",
                       {"text": text, "photo_ids": [str(i) for i in photo_ids]})
    except Exception:
        if photo_ids:
            db[PHOTOS].delete_many({"_id": {"$in": photo_ids}})
        raise


def public_status(doc: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    status = doc.get("status", "received")
    resolved_at = doc.get("resolved_at")
    return {
        "tracking_code": doc["tracking_code"],
        "status": status,
        "status_label": status_label(status),
        "service_code": doc.get("service_code"),
        "agency_responsible": doc.get("agency_responsible"),
        "district": doc.get("district"),
        "submitted_at": doc["submitted_at"],
        "updated_at": doc.get("updated_at", doc["submitted_at"]),
        "expected_datetime": doc.get("expected_datetime"),
        "public_notes": [{"at": n["at"], "text": n["text"]} for n in doc.get("public_notes", [])],
        "duplicate_of": doc.get("duplicate_of"),
        "rating": doc.get("rating"),
        "can_rate": status in {S.RESOLVED, S.CLOSED} and doc.get("rating") is None
        and resolved_at is not None,
        "can_reopen": status in {S.RESOLVED, S.CLOSED} and resolved_at is not None
        and now is not None and now - resolved_at <= REOPEN_WINDOW,
        "can_reply": status == S.WAITING_CITIZEN,
    }
