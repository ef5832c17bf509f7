"""The resident's forms read into the API's own models (`ReportIn`, `CitizenRatingIn`,
`CitizenReopenIn`), every failure turned into a message next to the field, in the page's
language. What the resident typed is returned as typed, to fill the form again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict

from services.intake.reports.models import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    CitizenRatingIn,
    CitizenReopenIn,
    ReportIn,
)
from services.intake.reports.photos import Photo, sniff_image_type, strip_metadata
from services.intake.reports.service import NewReport
from shared.limits import REOPEN_REASON_MIN, REPLY_PHOTOS_MAX
from shared.web.i18n import current_language, translate

REPORT_FIELDS = ("description", "category", "district", "address", "lat", "long", "name",
                 "phone", "email", "notify", "notify_zalo")
MAX_PHOTOS = REPLY_PHOTOS_MAX
# the report's errors about being told of its progress (by their type, never their text)
NOTIFY_ERRORS = frozenset({"notify_contact", "notify_consent"})
# where each model field's errors are shown on the form
_FORM_FIELD = {"category_hint": "category", "reporter.name": "name",
               "reporter.phone": "phone", "reporter.email": "email"}


@dataclass
class FormResult:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    report: NewReport | None = None
    fingerprint: str = ""


def _message(form_field: str, error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if form_field == "description":
        short = kind in {"string_too_short", "description_too_short"}
        return translate("err.description_short" if short else "err.description_long",
                         min=DESCRIPTION_MIN, max=f"{DESCRIPTION_MAX:,}".replace(",", "."))
    if form_field == "phone":
        return translate("err.phone")
    if form_field == "email":
        return translate("err.email")
    if kind in {"literal_error", "enum"}:
        return translate("err.choice")
    if kind == "string_too_long":
        return translate("err.too_long", max=ctx.get("max_length", ""))
    if kind == "string_too_short":
        return translate("err.too_short", min=ctx.get("min_length", ""))
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return translate("err.range", low=ctx.get("ge", ctx.get("gt", "")),
                         high=ctx.get("le", ctx.get("lt", "")))
    if kind in {"int_parsing", "int_type", "missing"}:
        return translate("err.required")
    return translate("err.invalid")


def model_errors(exc: ValidationError, rename: dict[str, str] | None = None) -> dict[str, str]:
    """Pydantic errors as {form field: message}, the first error of each field."""
    rename = rename or {}
    out: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in err["loc"])
        name = rename.get(path, path) or "form"
        out.setdefault(name, _message(name, err))
    return out


def _number(raw: str) -> float | None:
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        return None


def _location(values: dict[str, str], area: tuple[float, float, float, float],
              errors: dict[str, str]) -> tuple[float | None, float | None]:
    lat_raw, long_raw = values["lat"].strip(), values["long"].strip()
    if not lat_raw and not long_raw:
        return None, None
    lat, long = _number(lat_raw) if lat_raw else None, _number(long_raw) if long_raw else None
    for name, raw, value in (("lat", lat_raw, lat), ("long", long_raw, long)):
        if not raw:
            errors[name] = translate("err.latlong_pair")
        elif value is None:
            errors[name] = translate("err.number")
    if lat is None or long is None:
        return None, None
    min_lat, min_long, max_lat, max_long = area
    if not (min_lat <= lat <= max_lat and min_long <= long <= max_long):
        errors["lat"] = translate("err.outside_area")
        return None, None
    return lat, long


def read_photos(files: MultiDict[str, FileStorage], max_bytes: int,
                errors: dict[str, str]) -> list[Photo]:
    """Uploaded photos, re-encoded without EXIF (GPS position, camera) like the API's."""
    chosen = [f for f in files.getlist("photos") if f and f.filename]
    if len(chosen) > MAX_PHOTOS:
        errors["photos"] = translate("err.photos_count", max=MAX_PHOTOS)
        return []
    photos = []
    for upload in chosen:
        data = upload.stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            errors["photos"] = translate("err.photo_size", name=upload.filename,
                                         mb=max_bytes // (1024 * 1024))
            return []
        mime = sniff_image_type(data)
        if mime is None:
            errors["photos"] = translate("err.photo_type", name=upload.filename)
            return []
        try:
            clean = strip_metadata(data, mime)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            errors["photos"] = translate("err.photo_type", name=upload.filename)
            return []
        photos.append(Photo(mime, clean, upload.filename[:200]))
    return photos


def read_report(form: ImmutableMultiDict[str, str], files: MultiDict[str, FileStorage], *,
                service_area: tuple[float, float, float, float],
                max_photo_bytes: int) -> FormResult:
    values = {name: (form.get(name) or "")[:DESCRIPTION_MAX * 2] for name in REPORT_FIELDS}
    result = FormResult(values=values)
    errors = result.errors
    lat, long = _location(values, service_area, errors)
    reporter: dict[str, Any] = {k: values[k].strip() for k in ("name", "phone", "email")
                                if values[k].strip()}
    if values["notify"]:
        reporter["consent_to_notify"] = True
        if values["notify_zalo"]:
            reporter["notify_by"] = [c for c, given in (("email", "email" in reporter),
                                                        ("sms", "phone" in reporter),
                                                        ("zalo", "phone" in reporter)) if given]
    data: dict[str, Any] = {
        "channel": "web", "description": values["description"],
        "category_hint": values["category"] or None, "district": values["district"] or None,
        "address": values["address"].strip() or None, "lat": lat, "long": long,
        "reporter": reporter or None, "language": current_language(),
    }
    try:
        body = ReportIn.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        if any(e["type"] in NOTIFY_ERRORS for e in exc.errors(include_url=False)):
            errors["notify"] = translate("err.notify_contact")
        for name, message in model_errors(exc, _FORM_FIELD).items():
            if name != "form" or "notify" not in errors:
                errors.setdefault(name, message)
        body = None
    photos = read_photos(files, max_photo_bytes, errors)
    if errors or body is None:
        if any(f.filename for f in files.getlist("photos")) and "photos" not in errors:
            errors["photos"] = translate("err.photos_again")
        return result
    person = body.reporter
    result.report = NewReport(
        channel="web", description=body.description, category_hint=body.category_hint,
        district=body.district, address=body.address, lat=body.lat, long=body.long,
        name=person.name if person else None, phone=person.phone if person else None,
        email=person.email if person else None, photos=photos,
        notify_channels=tuple(body.notify_channels()), language=body.language)
    digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode("utf-8"))
    for photo in photos:
        digest.update(hashlib.sha256(photo.data).digest())
    result.fingerprint = digest.hexdigest()
    return result


def read_citizen(model: type[BaseModel], data: dict[str, Any]
                 ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Validated by the API's own model; the key (checked by the caller) is not forwarded."""
    try:
        return model.model_validate(data).model_dump(exclude={"citizen_key"}), {}
    except ValidationError as exc:
        return None, model_errors(exc)


def read_rating(form: ImmutableMultiDict[str, str], key: str
                ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    raw = (form.get("score") or "").strip()
    comment = (form.get("comment") or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None, {"score": translate("err.score")}
    body, errors = read_citizen(CitizenRatingIn, {"citizen_key": key, "score": int(raw),
                                                  **({"comment": comment} if comment else {})})
    if "score" in errors:
        errors["score"] = translate("err.score")
    return body, errors


def read_reopen(form: ImmutableMultiDict[str, str], key: str
                ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    body, errors = read_citizen(CitizenReopenIn, {"citizen_key": key,
                                                  "reason": (form.get("reason") or "")})
    if "reason" in errors:
        errors["reason"] = translate("err.reason", min=REOPEN_REASON_MIN)
    return body, errors
