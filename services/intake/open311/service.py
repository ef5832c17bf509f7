"""Open311 views of the taxonomy and of stored reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.intake.reports.service import CLOSED_STATUSES, status_label
from services.intake.store import REPORTS, WITHOUT_SECRETS
from shared.redact import public_address, redact_contacts, round_coordinate
from shared.taxonomy import Taxonomy
from shared.timefmt import iso_local
from shared.web.i18n import translate

# Open311's service groups (named in Vietnamese from the catalogue: open311.group.<key>)
SERVICE_GROUPS = {
    "infrastructure": ("traffic", "flooding", "electricity", "water_supply", "trees_lighting",
                       "construction"),
    "environment": ("environment", "noise"),
    "order": ("urban_order", "security", "fire_safety"),
    "social": ("health", "education", "social_welfare"),
    "admin": ("land_housing", "admin_services", "commerce"),
}
GROUP_OF = {code: group for group, codes in SERVICE_GROUPS.items() for code in codes}
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)


def services(taxonomy: Taxonomy) -> list[dict[str, Any]]:
    return [
        {
            "service_code": cat.code,
            "service_name": cat.name_vi,
            "description": cat.covers,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(part.strip() for part in cat.covers.split(",")[:4]),
            "group": translate(f"open311.group.{GROUP_OF.get(cat.code, 'other')}", "vi"),
        }
        for cat in taxonomy.categories
    ]


def service_request(doc: dict[str, Any], taxonomy: Taxonomy, tz: str) -> dict[str, Any]:
    code = doc.get("service_code")
    try:
        name = taxonomy.category(code).name_vi if code else None
    except KeyError:
        name = None
    notes = doc.get("public_notes") or []
    status = doc.get("status", "received")
    location = doc.get("location") or {}
    return {
        "service_request_id": doc["tracking_code"],
        "status": "closed" if status in CLOSED_STATUSES else "open",
        "status_notes": notes[-1]["text"] if notes else status_label(status),
        "service_name": name,
        "service_code": code,
        "description": redact_contacts(doc["description"]),
        "agency_responsible": doc.get("agency_responsible"),
        "service_notice": None,
        "requested_datetime": iso_local(doc["submitted_at"], tz),
        "updated_datetime": iso_local(doc.get("updated_at") or doc["submitted_at"], tz),
        "expected_datetime": iso_local(doc.get("expected_datetime"), tz),
        # the privacy table (README, Security): the public sees the street, not the house
        "address": public_address(doc.get("address")),
        "address_id": None,
        "zipcode": None,
        "lat": round_coordinate(location.get("lat")),
        "long": round_coordinate(location.get("long")),
        "media_url": doc.get("media_url"),
    }


def query_requests(*, db: Database, now: datetime, ids: list[str] | None = None,
                   service_codes: list[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None, statuses: list[str] | None = None
                   ) -> list[dict[str, Any]]:
    projection = {**WITHOUT_SECRETS, "request_fingerprint": 0}
    if ids:
        cursor = db[REPORTS].find({"tracking_code": {"$in": ids[:MAX_RESULTS]}}, projection)
        return list(cursor.sort("submitted_at", -1))
    end = end or now
    start = start or end - DEFAULT_WINDOW
    filt: dict[str, Any] = {"submitted_at": {"$gte": start, "$lte": end}}
    if service_codes:
        filt["service_code"] = {"$in": service_codes}
    if statuses and set(statuses) != {"open", "closed"}:
        closed = sorted(CLOSED_STATUSES)
        filt["status"] = {"$in": closed} if statuses == ["closed"] else {"$nin": closed}
    return list(db[REPORTS].find(filt, projection).sort("submitted_at", -1).limit(MAX_RESULTS))
