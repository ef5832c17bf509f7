"""The call-center operator's console: the call form with the classifier's live suggestion,
and the triage queue of reports the classifier was unsure about."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Response,
    flash,
    get_flashed_messages,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)

from services.tracker.deps import deps
from services.tracker.pages import clients, forms
from services.tracker.pages.common import render
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.permissions import Action
from services.tracker.tickets import repository, service
from services.tracker.tickets.models import TriageIn
from services.tracker.tickets.render import ticket_out
from services.tracker.tickets.repository import TicketFilter
from shared.danger import detect, guidance
from shared.errors import DomainError
from shared.taxonomy import CATEGORY_CODES
from shared.tickets import TRIAGE_STATES
from shared.web.i18n import department_label, label, translate
from shared.web.routes import Routes

routes = Routes()

CALL_FIELDS = ("caller_phone", "call_id", "description", "category", "district", "address",
               "caller_email", "notify", "notify_lang")
TRIAGE_PAGE = 25


def _console(values: dict[str, Any], errors: dict[str, str], *, status: int = 200,
             suggestion: dict[str, Any] | None = None,
             once: str | None = None) -> tuple[str, int]:
    nonce = request.form.get("call_nonce") if request.method == "POST" and not once else None
    return render("operator.html", status, values=values, errors=errors,
                  suggestion=suggestion, nonce=nonce or secrets.token_urlsafe(16),
                  notices=[*get_flashed_messages(), *([once] if once else [])],
                  triage_count=_triage_count(), undelivered=_undelivered())


def _undelivered() -> list[dict[str, Any]] | None:
    """Failed citizen notifications; None when intake does not answer (the console works)."""
    try:
        return clients.failed_notifications(deps().settings)[:20]
    except (clients.ServiceUnavailable, LookupError):
        return None


def _triage_count() -> int:
    d = deps()
    _, total = repository.queue(d.db, principal=current_staff(),
                                filters=TicketFilter(states=TRIAGE_STATES), limit=1, offset=0)
    return total


def suggestion_view(prediction: dict[str, Any], text: str = "") -> dict[str, Any]:
    """The classifier's answer with display names, for the page and its script. The
    department is the one the tracker's routing table will give the report (none while it
    needs an operator's triage), never one the classifier names."""
    department = None if prediction.get("needs_triage") else deps().config.routing.department(
        prediction["category"], prediction.get("district"))
    return {
        "category": prediction["category"],
        "category_label": label("category", prediction["category"]),
        "confidence": round(float(prediction["confidence"]), 3),
        "top3": [{"code": code, "label": label("category", code),
                  "confidence": round(float(conf), 3)} for code, conf in prediction["top3"]],
        "district": prediction.get("district"),
        "district_label": label("district", prediction.get("district")),
        "urgent": bool(prediction.get("urgent")),
        "needs_triage": bool(prediction.get("needs_triage")),
        "department": department,
        "department_label": department_label(department),
        "outcome": prediction.get("outcome") or "routed",
        "triage_reason": prediction.get("triage_reason"),
        "emergency": emergency_view(prediction, text),
    }


def emergency_view(prediction: dict[str, Any], text: str) -> dict[str, Any] | None:
    """The red banner: danger to life read in the text, and whom the caller must call now.
    The classifier's own cue reading is used; without it (an older classifier), the same
    detector runs here."""
    numbers = prediction.get("call_now")
    if numbers is None:
        danger = detect(text)
        numbers = list(danger.numbers) if danger.urgent else []
    return guidance(numbers) if numbers else None


@routes.get("/operator")
@requires_staff(Action.TAKE_CALLS)
def operator() -> tuple[str, int]:
    return _console(dict.fromkeys(CALL_FIELDS, ""), {})


@routes.post("/operator/suggest")
@requires_staff(Action.TAKE_CALLS)
def suggest() -> tuple[Response, int] | Response:
    """JSON for the console's script: {text} -> the suggestion (proxied to the classifier)."""
    payload = request.get_json(silent=True) or {}
    text = str(payload.get("text") or "")[:4000].strip()
    if len(text) < forms.DESCRIPTION_MIN:
        return jsonify(empty=True)
    try:
        prediction = clients.classify(deps().settings, text)
    except clients.ServiceUnavailable:
        return jsonify(error=translate("err.classifier_unavailable")), 503
    return jsonify(suggestion_view(prediction, text))


def _check_call(values: dict[str, Any]) -> dict[str, str]:
    errors = {}
    for name in ("caller_phone", "call_id", "description"):
        if not values[name].strip():
            errors[name] = translate("err.required")
    description = values["description"].strip()
    if description and len(description) < forms.DESCRIPTION_MIN:
        errors["description"] = forms.description_error("description_too_short")
    if values["category"] and values["category"] not in CATEGORY_CODES:
        errors["category"] = translate("err.choice")
    return errors


@routes.post("/operator")
@requires_staff(Action.TAKE_CALLS)
def submit_call() -> Response | tuple[str, int]:
    d = deps()
    values = forms.values(request.form, CALL_FIELDS)
    if request.form.get("action") == "suggest":
        suggestion = None
        errors: dict[str, str] = {}
        if len(values["description"].strip()) >= forms.DESCRIPTION_MIN:
            try:
                suggestion = suggestion_view(clients.classify(d.settings, values["description"]),
                                             values["description"])
            except clients.ServiceUnavailable:
                errors["suggestion"] = translate("err.classifier_unavailable")
        else:
            errors["description"] = forms.description_error("description_too_short")
        if suggestion and not values["category"]:
            values["category"] = suggestion["category"]
        if suggestion and not values["district"] and suggestion["district"]:
            values["district"] = suggestion["district"]
        return _console(values, errors, suggestion=suggestion)
    errors = _check_call(values)
    if errors:
        return _console(values, errors, status=422)
    principal = current_staff()
    report: dict[str, Any] = {
        "channel": "call_center", "description": values["description"],
        "call": {"operator_id": principal.user, "call_id": values["call_id"].strip(),
                 "caller_phone": values["caller_phone"].strip()},
    }
    for name, key in (("category", "category_hint"), ("district", "district"),
                      ("address", "address")):
        if values[name].strip():
            report[key] = values[name].strip()
    if values["notify"]:  # the operator asked the caller, who agreed to news
        report["reporter"] = {"consent_to_notify": True,
                              **({"email": values["caller_email"].strip()}
                                 if values["caller_email"].strip() else {})}
        report["language"] = "en" if values["notify_lang"] == "en" else "vi"
    nonce = (request.form.get("call_nonce") or secrets.token_urlsafe(16))[:64]
    try:
        answer = clients.submit_call(d.settings, report,
                                     idempotency_key=f"console:{principal.user}:{nonce}")
    except clients.ServiceUnavailable:
        return _console(values, {"form": translate("err.intake_unavailable")}, status=503)
    if not answer.created:
        return _console(values, forms.intake_errors(answer.field_errors()), status=422)
    # Shown once, in this answer only: the caller's phone and the citizen's key never go into
    # the session cookie (signed, not encrypted) nor into any cache.
    body, status = _console(dict.fromkeys(CALL_FIELDS, ""), {}, once=translate(
        "notice.call_created", code=answer.body["tracking_code"],
        secret=answer.body.get("citizen_key") or "—", phone=values["caller_phone"].strip()))
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _triage_page(errors: dict[str, dict[str, str]] | None = None,
                 values: dict[str, dict[str, Any]] | None = None,
                 status: int = 200) -> tuple[str, int]:
    d = deps()
    docs, total = repository.queue(d.db, principal=current_staff(),
                                   filters=TicketFilter(states=TRIAGE_STATES),
                                   limit=TRIAGE_PAGE, offset=0)
    return render("triage.html", status, tickets=[ticket_out(t) for t in docs], total=total,
                  top3={t["_id"]: t.get("top3") or [] for t in docs},
                  errors=errors or {}, values=values or {},
                  notices=get_flashed_messages())


@routes.get("/triage")
@requires_staff(Action.TRIAGE)
def triage_queue() -> tuple[str, int]:
    return _triage_page()


@routes.post("/triage/<ticket_id>")
@requires_staff(Action.TRIAGE)
def triage(ticket_id: str) -> Response | tuple[str, int]:
    d = deps()
    values = forms.values(request.form, ("category", "district", "note"))
    body, errors = forms.parse(TriageIn, {
        "category": values["category"], "district": forms.optional(values["district"]),
        "note": forms.optional(values["note"])})
    if body is not None:
        try:
            ticket = service.triage(db=d.db, config=d.config, principal=current_staff(),
                                    ticket_id=ticket_id, category=body.category,
                                    district=body.district, note=body.note, now=d.clock())
        except service.TicketNotFound as exc:
            errors = {"form": forms.error_message(exc)}
        except DomainError as exc:
            errors = forms.service_error(exc, "category")
        else:
            flash(translate("notice.triaged", code=ticket["tracking_code"],
                            department=department_label(ticket["department"])))
            return redirect(url_for("staff.triage_queue"), 303)
    return _triage_page({ticket_id: errors}, {ticket_id: values}, status=422)
