"""The handler's console: the department's queue by deadline, a ticket's page with its
history, and the moves (transitions, notes, re-route, duplicate, bulk). Every move calls the
tickets service in this process, as the JSON API does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from bson import ObjectId
from flask import Response, abort, flash, get_flashed_messages, redirect, request, url_for

from services.tracker.answers import pages as answer_pages
from services.tracker.deps import deps
from services.tracker.live import pages as live_pages
from services.tracker.owners import pages as owner_pages
from services.tracker.owners.filters import assignee_filter
from services.tracker.pages import clients, forms
from services.tracker.pages.common import departments, page_number, render
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.permissions import Action, allowed
from services.tracker.tickets import repository, service
from services.tracker.tickets.models import (
    BulkTransitionIn,
    NoteIn,
    RerouteIn,
    TransitionIn,
)
from services.tracker.tickets.render import ticket_out
from services.tracker.tickets.repository import TicketFilter
from services.tracker.tickets.states import ROLE_TARGETS, TRANSITIONS
from shared.errors import DomainError
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
from shared.tickets import SLA_STATES, STATES, TicketState
from shared.web.i18n import label, ngettext, translate
from shared.web.problems import Problem
from shared.web.routes import Routes

routes = Routes()

PAGE_SIZE = 50
FILTERS: dict[str, tuple[str, ...] | None] = {
    "state": STATES, "sla_state": SLA_STATES, "category": CATEGORY_CODES,
    "district": DISTRICT_CODES, "urgent": ("true", "false"), "department": None,
}


def _filters() -> tuple[TicketFilter, dict[str, str], dict[str, str]]:
    """The queue's filters from the query string: (the repository's filter, values,
    errors)."""
    values = {name: (request.args.get(name) or "")[:64] for name in FILTERS}
    errors: dict[str, str] = {}
    filters: dict[str, Any] = {}
    for name, choices in FILTERS.items():
        value = values[name]
        if not value:
            continue
        if name == "department":
            if value not in deps().config.routing.departments():
                errors[name] = translate("err.choice")
                continue
        elif choices is not None and value not in choices:
            errors[name] = translate("err.choice")
            continue
        filters[name] = value == "true" if name == "urgent" else value
    owner = (request.args.get("owner") or "")[:64]
    if owner:
        values["owner"] = owner
        try:
            filters.update(assignee_filter(owner, current_staff()))
        except Problem:
            errors["owner"] = translate("err.choice")
    state = filters.pop("state", None)
    return TicketFilter(states=None if state is None else (TicketState(state),),
                        **filters), values, errors


def _targets(role: str, state: str) -> list[str]:
    """Moves the role may make from the state (duplicates have their own form)."""
    targets = TRANSITIONS.get(state, frozenset()) & ROLE_TARGETS.get(role, frozenset())
    return [s for s in STATES if s in targets and s != TicketState.DUPLICATE]


def _undo_targets(role: str, ticket: dict) -> list[str]:
    """A supervisor may take back a duplicate mark (the note is the reason)."""
    target = service.undo_target(ticket)
    return [target] if target and allowed(role, Action.UNDO_DUPLICATE) else []


def _bulk_targets(role: str) -> list[str]:
    return [s for s in STATES if s in ROLE_TARGETS.get(role, frozenset())
            and s not in {TicketState.DUPLICATE, TicketState.TRIAGE, TicketState.ASSIGNED,
                          TicketState.NEW}]


def _queue_page(*, bulk_errors: dict[str, str] | None = None,
                bulk_values: dict[str, Any] | None = None, status: int = 200
                ) -> tuple[str, int]:
    d = deps()
    principal = current_staff()
    filters, values, errors = _filters()
    page = page_number()
    docs, total = repository.queue(d.db, principal=principal, filters=filters,
                                   limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    query = {k: v for k, v in values.items() if v}
    return render("queue.html", status, tickets=[ticket_out(t) for t in docs], total=total,
                  page=page, pages=max(1, -(-total // PAGE_SIZE)), values=values,
                  errors=errors, query=query, query_string=urlencode(query),
                  sla_states=SLA_STATES, states=STATES, department_codes=departments(),
                  bulk_targets=_bulk_targets(principal.role), bulk_errors=bulk_errors or {},
                  bulk_values=bulk_values or {"ticket_ids": []},
                  notices=get_flashed_messages(), **owner_pages.queue_context(principal))


@routes.get("/queue")
@requires_staff(Action.VIEW_TICKETS)
def queue() -> tuple[str, int]:
    return _queue_page()


def _back_to_queue() -> str:
    query = request.form.get("back") or ""
    return url_for("staff.queue") + (f"?{query}" if query and "//" not in query else "")


@routes.post("/queue/bulk")
@requires_staff(Action.BULK_TRANSITION)
def bulk() -> Response | tuple[str, int]:
    d = deps()
    principal = current_staff()
    values = forms.values(request.form, ("to", "note", "public"))
    values["ticket_ids"] = request.form.getlist("ticket_ids")[:500]
    body, errors = forms.parse(BulkTransitionIn, {
        "ticket_ids": values["ticket_ids"], "to": values["to"],
        "note": forms.optional(values["note"]), "public": values["public"]})
    if body is None:
        if "ticket_ids" in errors and values["ticket_ids"]:
            errors["ticket_ids"] = translate("err.invalid")
        return _queue_page(bulk_errors=errors, bulk_values=values, status=422)
    moved, failed = [], []
    for ticket_id, outcome in service.bulk_transition(
            db=d.db, config=d.config, principal=principal, ticket_ids=body.ticket_ids,
            to_state=body.to, note=body.note, public=body.public, now=d.clock()):
        if isinstance(outcome, DomainError):
            failed.append(f"{ticket_id[-6:]}: {forms.error_message(outcome)}")
        else:
            moved.append(outcome["tracking_code"])
    flash(ngettext("notice.bulk", len(moved), state=label("state", body.to)))
    for line in failed:
        flash(line)
    return redirect(_back_to_queue(), 303)


def _ticket_or_404(ticket_id: str) -> dict[str, Any]:
    d = deps()
    try:
        return service.get_ticket(db=d.db, principal=current_staff(), ticket_id=ticket_id)
    except service.TicketNotFound:
        abort(404)


def _ticket_page(ticket_id: str, *, form: str | None = None,
                 errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                 status: int = 200) -> tuple[str, int]:
    ticket = _ticket_or_404(ticket_id)
    principal = current_staff()
    return render("ticket.html", status, t=ticket_out(ticket, history=True),
                  photos=_photos(ticket),
                  targets=_targets(principal.role, ticket["state"])
                  + _undo_targets(principal.role, ticket),
                  may_reroute=allowed(principal.role, Action.REROUTE),
                  department_codes=departments(),
                  may_duplicate=allowed(principal.role, Action.MARK_DUPLICATE)
                  and TicketState.DUPLICATE in TRANSITIONS.get(ticket["state"], ())
                  and TicketState.DUPLICATE in ROLE_TARGETS.get(principal.role, ()),
                  **owner_pages.ticket_context(principal, ticket),
                  **answer_pages.ticket_context(ticket),
                  viewers=live_pages.ticket_viewers(ticket["_id"]),
                  form=form, errors={form: errors or {}} if form else {},
                  values={form: values or {}} if form else {},
                  notices=get_flashed_messages())


@routes.get("/tickets/<ticket_id>")
@requires_staff(Action.VIEW_TICKETS)
def ticket(ticket_id: str) -> tuple[str, int]:
    return _ticket_page(ticket_id)


def _photos(ticket: dict[str, Any]) -> dict[str, Any]:
    """The report's photos for the ticket page (thumbnails); a slow intake costs the page its
    photos, not the page."""
    try:
        return {"found": clients.report_photos(deps().settings, ticket["report_id"]),
                "error": False}
    except (clients.ServiceUnavailable, LookupError):
        return {"found": [], "error": True}


@routes.get("/tickets/<ticket_id>/photos/<photo_id>")
@requires_staff(Action.VIEW_TICKETS)
def photo(ticket_id: str, photo_id: str) -> Response:
    """A photo of the ticket's report, through the tracker: only for staff who may see the
    ticket (another department's ticket is 'not found'), never cached by the browser."""
    ticket = _ticket_or_404(ticket_id)
    size = "thumb" if request.args.get("size") == "thumb" else "full"
    if not ObjectId.is_valid(photo_id):
        abort(404)
    try:
        data, mimetype = clients.report_photo(deps().settings, ticket["report_id"], photo_id,
                                              size=size)
    except LookupError:
        abort(404)
    except clients.ServiceUnavailable:
        abort(503)
    if mimetype not in {"image/jpeg", "image/png"}:
        abort(502)
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _move(ticket_id: str, form: str, names: tuple[str, ...],
          check: Callable[[dict[str, Any]], tuple[Any, dict[str, str]]],
          act: Callable[[Any], dict[str, Any]], main_field: str, notice: str
          ) -> Response | tuple[str, int]:
    """Read a ticket form, run the service call, redirect back or re-render with errors."""
    _ticket_or_404(ticket_id)
    values = forms.values(request.form, names)
    body, errors = check(values)
    if body is not None:
        try:
            updated = act(body)
        except service.TicketNotFound:
            abort(404)
        except DomainError as exc:
            errors = forms.service_error(exc, main_field)
        else:
            flash(translate(notice, state=label("state", updated["state"])))
            return redirect(url_for("staff.ticket", ticket_id=ticket_id), 303)
    return _ticket_page(ticket_id, form=form, errors=errors, values=values, status=422)


@routes.post("/tickets/<ticket_id>/transition")
@requires_staff(Action.TRANSITION)
def transition(ticket_id: str) -> Response | tuple[str, int]:
    d = deps()
    return _move(
        ticket_id, "transition", ("to", "note", "public"),
        lambda v: forms.parse(TransitionIn, {"to": v["to"], "note": forms.optional(v["note"]),
                                             "public": v["public"]}),
        lambda b: service.transition(db=d.db, config=d.config, principal=current_staff(),
                                     ticket_id=ticket_id, to_state=b.to, note=b.note,
                                     public=b.public, now=d.clock()),
        "to", "notice.moved")


@routes.post("/tickets/<ticket_id>/note")
@requires_staff(Action.ADD_NOTE)
def note(ticket_id: str) -> Response | tuple[str, int]:
    d = deps()
    return _move(
        ticket_id, "note", ("note", "public"),
        lambda v: forms.parse(NoteIn, {"note": v["note"], "public": v["public"]}),
        lambda b: service.add_note(db=d.db, config=d.config, principal=current_staff(),
                                   ticket_id=ticket_id, note=b.note, public=b.public,
                                   now=d.clock()),
        "note", "notice.noted")


def _check_reroute(values: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    if not values["category"] and not values["department"]:
        return None, {"category": translate("err.reroute_target")}
    if values["department"] and values["department"] not in deps().config.routing.departments():
        return None, {"department": translate("err.choice")}
    return forms.parse(RerouteIn, {"category": forms.optional(values["category"]),
                                   "department": forms.optional(values["department"]),
                                   "note": forms.optional(values["note"])})


@routes.post("/tickets/<ticket_id>/reroute")
@requires_staff(Action.REROUTE)
def reroute(ticket_id: str) -> Response | tuple[str, int]:
    d = deps()
    return _move(
        ticket_id, "reroute", ("category", "department", "note"), _check_reroute,
        lambda b: service.reroute(db=d.db, config=d.config, principal=current_staff(),
                                  ticket_id=ticket_id, category=b.category,
                                  department=b.department, note=b.note, now=d.clock()),
        "category", "notice.rerouted")


def _check_duplicate(values: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    code = values["original"].strip().upper()
    if not code:
        return None, {"original": translate("err.required")}
    original = repository.by_tracking_code(deps().db, code, fields=("_id",))
    if original is None:
        return None, {"original": translate("err.code_unknown")}
    return {"original_id": original["_id"], "note": forms.optional(values["note"])}, {}


@routes.post("/tickets/<ticket_id>/duplicate")
@requires_staff(Action.MARK_DUPLICATE)
def duplicate(ticket_id: str) -> Response | tuple[str, int]:
    d = deps()
    return _move(
        ticket_id, "duplicate", ("original", "note"), _check_duplicate,
        lambda b: service.mark_duplicate(db=d.db, config=d.config, principal=current_staff(),
                                         ticket_id=ticket_id, original_id=b["original_id"],
                                         note=b["note"], now=d.clock()),
        "original", "notice.moved")
