"""Answer templates: a department's Vietnamese public answers with placeholders, filled from
the ticket the handler answers. Placeholders: {code} (tracking code), {street} (the street of
the address), {deadline} (the expected resolution, city time). Anything else in braces is
refused when the template is saved, so a template always renders."""

from __future__ import annotations

import re
import string
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId
from pymongo.database import Database

from services.tracker.store import TEMPLATES

PLACEHOLDERS = ("code", "street", "deadline")
_HOUSE = re.compile(r"^\s*(?:số\s*)?[\d/]+[a-zA-Z]?\s+", re.IGNORECASE)


class TemplateError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field



def check_body(body: str) -> None:
    try:
        fields = [name for _, name, spec, conv in string.Formatter().parse(body)
                  if name is not None]
    except ValueError as exc:
        raise TemplateError("body", f"unbalanced braces: {exc}") from None
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        raise TemplateError("body", "unknown placeholders: "
                            + ", ".join("{" + f + "}" for f in unknown)
                            + "; use " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))


def street_of(address: str | None) -> str:
    """'120 Điện Biên Phủ, Phường 6, Quận 3' -> 'Điện Biên Phủ'."""
    first = (address or "").split(",")[0].strip()
    return _HOUSE.sub("", first).strip() or first


def values_for(ticket: dict[str, Any], *, tz: str) -> dict[str, str]:
    due: datetime | None = ticket.get("expected_resolution_at")
    return {"code": ticket["tracking_code"],
            "street": street_of(ticket.get("address")) or "(chưa có địa chỉ)",
            "deadline": due.astimezone(ZoneInfo(tz)).strftime("%H:%M %d/%m/%Y") if due
            else "(chưa xác định)"}


def render(body: str, ticket: dict[str, Any], *, tz: str) -> str:
    check_body(body)
    return body.format_map(values_for(ticket, tz=tz))


def list_templates(db: Database, department: str | None) -> list[dict[str, Any]]:
    query = {"department": department} if department else {}
    return list(db[TEMPLATES].find(query).sort([("department", 1), ("title", 1)]))


def get_template(db: Database, template_id: str) -> dict[str, Any] | None:
    return db[TEMPLATES].find_one({"_id": template_id})


def save(db: Database, *, template_id: str | None, department: str, title: str, body: str,
         by: str, now: datetime) -> dict[str, Any]:
    check_body(body)
    doc = {"department": department, "title": title, "body": body, "updated_by": by,
           "updated_at": now}
    if template_id is None:
        doc["_id"] = str(ObjectId())
        db[TEMPLATES].insert_one(doc)
        return doc
    result = db[TEMPLATES].update_one({"_id": template_id}, {"$set": doc})
    if result.matched_count == 0:
        raise LookupError(template_id)
    return {"_id": template_id, **doc}


def delete(db: Database, template_id: str) -> bool:
    return db[TEMPLATES].delete_one({"_id": template_id}).deleted_count == 1
