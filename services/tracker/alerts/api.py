"""/api/v1/notifications: my notifications, mark read, my alert preferences."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, Response, g, jsonify
from pydantic import BaseModel, StringConstraints

from services.tracker.alerts import store
from services.tracker.auth import requires
from services.tracker.deps import deps
from services.tracker.permissions import Action
from services.tracker.tickets.models import _In
from shared.crypto import FieldCipher
from shared.web.body import json_body, parse_model
from shared.web.problems import Problem

bp = Blueprint("alerts", __name__, url_prefix="/api/v1")
Email = Annotated[str, StringConstraints(strip_whitespace=True,
                                         pattern=r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
                                         max_length=254)]


class PreferencesIn(_In):
    email: Email | None = None
    mode: store.Mode = "each"


class PreferencesOut(BaseModel):
    email: str | None
    mode: str


class NotificationOut(BaseModel):
    id: str
    ticket_id: str
    tracking_code: str
    level: str
    clock: str
    department: str | None
    reached_at: Any
    created_at: Any
    read: bool


class NotificationsOut(BaseModel):
    unread: int
    items: list[NotificationOut]


def notification_out(n: dict[str, Any]) -> dict[str, Any]:
    return {"id": n["_id"], "ticket_id": n["ticket_id"], "tracking_code": n["tracking_code"],
            "level": n["level"], "clock": n["clock"], "department": n.get("department"),
            "reached_at": n["reached_at"], "created_at": n["created_at"],
            "read": n.get("read_at") is not None}


@bp.get("/notifications")
@requires(Action.VIEW_NOTIFICATIONS)
def mine() -> Response:
    db, user = deps().db, g.principal.user
    return jsonify(unread=store.unread_count(db, user),
                   items=[notification_out(n) for n in store.latest(db, user)])


@bp.post("/notifications/<notification_id>/read")
@requires(Action.VIEW_NOTIFICATIONS)
def read_one(notification_id: str) -> Response:
    d = deps()
    if not store.mark_read(d.db, user=g.principal.user, notification_id=notification_id,
                           now=d.clock()):
        if not store.exists(d.db, user=g.principal.user, notification_id=notification_id):
            raise Problem(404, "Not Found", "No such notification of yours.",
                          kind="notification-not-found")
    return jsonify(unread=store.unread_count(d.db, g.principal.user))


@bp.post("/notifications/read-all")
@requires(Action.VIEW_NOTIFICATIONS)
def read_all() -> Response:
    d = deps()
    store.mark_read(d.db, user=g.principal.user, notification_id=None, now=d.clock())
    return jsonify(unread=0)


@bp.get("/notifications/preferences")
@requires(Action.VIEW_NOTIFICATIONS)
def get_preferences() -> Response:
    d = deps()
    pref = store.preferences(d.db, [g.principal.user]).get(g.principal.user)
    return jsonify(email=store.email_of(pref, FieldCipher(d.settings.pii_keys)),
                   mode=(pref or {}).get("mode", "each"))


@bp.put("/notifications/preferences")
@requires(Action.VIEW_NOTIFICATIONS)
def put_preferences() -> Response:
    d, body = deps(), parse_model(PreferencesIn, json_body())
    store.set_preferences(d.db, user=g.principal.user, email=body.email, mode=body.mode,
                          cipher=FieldCipher(d.settings.pii_keys), now=d.clock())
    return jsonify(email=body.email, mode=body.mode)


def operations(op: Any) -> list[Any]:
    nid = {"name": "notification_id", "in": "path", "required": True,
           "schema": {"type": "string"}}
    return [
        op("/api/v1/notifications", "get", "My notifications (SLA alerts)", NotificationsOut,
           tag="notifications"),
        op("/api/v1/notifications/{notification_id}/read", "post", "Mark one read",
           {"type": "object"}, params=(nid,), tag="notifications"),
        op("/api/v1/notifications/read-all", "post", "Mark all read", {"type": "object"},
           tag="notifications"),
        op("/api/v1/notifications/preferences", "get", "My alert e-mail preferences",
           PreferencesOut, tag="notifications"),
        op("/api/v1/notifications/preferences", "put", "Set my alert e-mail preferences",
           PreferencesOut, body=PreferencesIn, tag="notifications"),
    ]
