"""/notifications/unsubscribe/<token> (the link in every message) and
/api/v1/notifications (staff: what could not be delivered)."""

from __future__ import annotations

from bson import ObjectId
from flask import Blueprint, Response, jsonify, render_template, request

from services.intake.deps import deps
from services.intake.notify import outbox
from services.intake.notify.links import report_of_token
from services.intake.notify.service import public_row, unsubscribe
from services.intake.store import REPORTS
from shared.timefmt import iso_local
from shared.web import i18n
from shared.web.problems import Problem, validation_problem

pages = Blueprint("notifications", __name__, template_folder="templates")
i18n.install(pages)
api = Blueprint("notifications_api", __name__, url_prefix="/api/v1/notifications")


def _report_id(token: str) -> ObjectId | None:
    value = report_of_token(deps().settings.secret_key, token)
    return ObjectId(value) if value and ObjectId.is_valid(value) else None


@pages.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_page(token: str) -> tuple[str, int]:
    """GET asks for confirmation; POST (the button, or a mail client's RFC 8058 one-click
    POST) unsubscribes. The signed token is the authorisation: no session, no CSRF token."""
    d = deps()
    report_id = _report_id(token)
    if report_id is None:
        return render_template("notify/unsubscribe.html", invalid=True), 404
    if request.method == "GET":
        doc = d.db[REPORTS].find_one({"_id": report_id}, {"tracking_code": 1})
        if doc is None:
            return render_template("notify/unsubscribe.html", invalid=True), 404
        return render_template("notify/unsubscribe.html", code=doc["tracking_code"]), 200
    code = unsubscribe(db=d.db, report_id=report_id, now=d.clock())
    if code is None:
        return render_template("notify/unsubscribe.html", invalid=True), 404
    return render_template("notify/unsubscribe.html", code=code, done=True), 200


@api.get("")
def list_notifications() -> Response:
    """Staff (X-API-Key): notifications by state, `failed` by default: the ones an operator
    should follow up by phone."""
    d = deps()
    if request.headers.get("X-API-Key") not in d.settings.staff_api_keys:
        raise Problem(401, "Unauthorized", "A staff API key is needed.", kind="unauthorized",
                      errors=[{"field": "X-API-Key", "message": "missing or unknown key"}])
    state = request.args.get("state", outbox.FAILED)
    if state not in {outbox.PENDING, outbox.SENT, outbox.FAILED, outbox.CANCELLED}:
        raise validation_problem([{"field": "state",
                                   "message": "one of pending, sent, failed, cancelled"}],
                                 status=400)
    code = request.args.get("tracking_code")
    query: dict = {"state": state}
    if code:
        query["tracking_code"] = code
    rows = list(d.db[outbox.NOTIFICATIONS].find(query).sort("_id", -1).limit(200))
    tz = d.settings.timezone
    items = []
    for row in rows:
        item = public_row(row)
        for key in ("created_at", "sent_at", "due_at"):
            item[key] = iso_local(item[key], tz) if item[key] else None
        items.append(item)
    return jsonify(items=items)
