"""/api/v1/reports: the JSON API for the web page, the app and the call-center console."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request, url_for
from pydantic import BaseModel

from services.intake import citizen_keys
from services.intake.deps import deps, enforce_rate_limit
from services.intake.errors import (
    BadIdempotencyKey,
    BadTrackingCode,
    ReportNotFound,
    StaffKeyNeeded,
    WrongCitizenKey,
)
from services.intake.reports.models import (
    CitizenRatingIn,
    CitizenReopenIn,
    CitizenReplyIn,
    ReportIn,
)
from services.intake.reports.photos import decode_photos
from services.intake.reports.service import (
    NewReport,
    Submitted,
    citizen_reply,
    find_by_tracking_code,
    public_status,
    submit_report,
)
from services.intake.tracker_client import citizen_action
from shared.danger import detect
from shared.timefmt import iso_local
from shared.web.body import fingerprint, json_body, parse_model

bp = Blueprint("reports", __name__, url_prefix="/api/v1/reports")
bp.before_request(enforce_rate_limit)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
TRACKING_CODE = re.compile(r"^[A-Z]{2,5}-\d{4}-\d{6,9}$")


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise BadIdempotencyKey()
    return key


def require_staff_key() -> None:
    key = request.headers.get("X-API-Key")
    if key not in deps().settings.staff_api_keys:
        raise StaffKeyNeeded()


def submit(report: NewReport, body_fingerprint: str) -> Submitted:
    d = deps()
    return submit_report(db=d.db, report=report, cipher=d.cipher, codes=d.codes,
                         clock=d.clock, idempotency_key=idempotency_key(),
                         fingerprint=body_fingerprint, insert=d.report_writer.insert,
                         blind=d.blind)


@bp.post("")
def create_report() -> tuple[Response, int, dict[str, str]]:
    with deps().report_writer.expecting():
        return _create_report()


def _create_report() -> tuple[Response, int, dict[str, str]]:
    d = deps()
    data = json_body()
    body = parse_model(ReportIn, data, context={"service_area": d.settings.service_area})
    if body.channel == "call_center":
        require_staff_key()
    photos = decode_photos(body.photos, max_bytes=d.settings.max_photo_bytes)
    reporter = body.reporter
    report = NewReport(
        channel=body.channel, description=body.description, category_hint=body.category_hint,
        district=body.district, address=body.address, lat=body.lat, long=body.long,
        name=reporter.name if reporter else None, phone=reporter.phone if reporter else None,
        email=reporter.email if reporter else None,
        caller_phone=body.call.caller_phone if body.call else None,
        operator_id=body.call.operator_id if body.call else None,
        call_id=body.call.call_id if body.call else None, photos=photos,
        notify_channels=tuple(body.notify_channels()), language=body.language,
    )
    result = submit(report, fingerprint(data))
    doc = result.doc
    location = url_for("reports.get_report", tracking_code=doc["tracking_code"])
    payload = {
        "report_id": str(doc["_id"]),
        "tracking_code": doc["tracking_code"],
        "citizen_key": result.citizen_key,
        "status": doc.get("status", "received"),
        "submitted_at": iso_local(doc["submitted_at"], d.settings.timezone),
        "tracking_url": d.settings.public_base_url.rstrip("/") + location,
        # decided here, at submit time, without waiting for the classifier
        "emergency": detect(body.description).guidance(),
    }
    headers = {"Location": location}
    if not result.created:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(payload), 201, headers


@bp.get("/<tracking_code>")
def get_report(tracking_code: str) -> Response:
    if not TRACKING_CODE.match(tracking_code):
        raise BadTrackingCode()
    doc = find_by_tracking_code(db=deps().db, tracking_code=tracking_code)
    if doc is None:
        raise ReportNotFound(tracking_code)
    tz = deps().settings.timezone
    status = public_status(doc, now=deps().clock())
    for key in ("submitted_at", "updated_at", "expected_datetime"):
        status[key] = iso_local(status[key], tz)
    for note in status["public_notes"]:
        note["at"] = iso_local(note["at"], tz)
    return jsonify(status)


M = TypeVar("M", bound=BaseModel)


def _citizens_request(tracking_code: str, model: type[M]) -> tuple[M, dict[str, Any]]:
    """The body of a request the citizen makes about a report, and the report, once the
    code reads, the body validates and the citizen's key matches."""
    if not TRACKING_CODE.match(tracking_code):
        raise BadTrackingCode()
    body = parse_model(model, json_body())
    d = deps()
    doc = find_by_tracking_code(db=d.db, tracking_code=tracking_code, with_key=True)
    if doc is None:
        raise ReportNotFound(tracking_code)
    if not citizen_keys.matches(doc, body.citizen_key, d.cipher):
        raise WrongCitizenKey()
    return body, doc


def _citizen(tracking_code: str, action: str, model: type) -> Response:
    body, _ = _citizens_request(tracking_code, model)
    d = deps()
    result = citizen_action(d.settings, tracking_code, action,
                            body.model_dump(exclude={"citizen_key"}))
    return jsonify(tracking_code=tracking_code, status=result.get("state"),
                   rating=result.get("rating"))


@bp.post("/<tracking_code>/rating")
def rate_report(tracking_code: str) -> Response:
    """The citizen rates the handling 1 to 5 once the report is resolved."""
    return _citizen(tracking_code, "rating", CitizenRatingIn)


@bp.post("/<tracking_code>/reopen")
def reopen_report(tracking_code: str) -> Response:
    """Not satisfied: reopen within 7 days of the resolution."""
    return _citizen(tracking_code, "reopen", CitizenReopenIn)


@bp.post("/<tracking_code>/replies")
def reply_to_report(tracking_code: str) -> tuple[Response, int]:
    """The citizen answers the handler's question (the report waits for the citizen): text
    and up to 3 photos; the ticket goes back to in_progress."""
    body, doc = _citizens_request(tracking_code, CitizenReplyIn)
    d = deps()
    photos = decode_photos(body.photos, max_bytes=d.settings.max_photo_bytes)
    result = citizen_reply(db=d.db, settings=d.settings, report=doc, text=body.text,
                           photos=photos, cipher=d.cipher, now=d.clock(),
                           forward=citizen_action)
    return jsonify(tracking_code=tracking_code, status=result.get("state"), rating=None), 201
