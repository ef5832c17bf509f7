"""Owner actions on the staff pages: take, give or release a ticket, bulk reassign from the
queue, the handler's availability, and the supervisor's team page (load, oldest deadline,
per-handler figures, round-robin per department)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for

from services.tracker.deps import deps
from services.tracker.owners import service
from services.tracker.owners.api import bulk as bulk_give
from services.tracker.pages import forms
from services.tracker.pages.common import departments, render
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.tickets import service as tickets
from services.tracker.tickets.states import IllegalTransition
from shared.web.i18n import translate

SUPERVISORS = ("supervisor", "admin")
WINDOWS = (7, 30, 90)
ERRORS = (IllegalTransition, tickets.Forbidden, tickets.Conflict, tickets.NotAllowed)


def _back(ticket_id: str | None = None) -> str:
    target = request.form.get("next") or ""
    if target in {"queue", ""} or ticket_id is None:
        query = request.form.get("back") or ""
        return url_for("staff.queue") + (f"?{query}" if query and "//" not in query else "")
    return url_for("staff.ticket", ticket_id=ticket_id)


def _act(ticket_id: str, action: Any, notice: str) -> Response:
    try:
        ticket = action()
    except tickets.TicketNotFound:
        abort(404)
    except ERRORS as exc:
        flash(next(iter(forms.service_error(exc, "assignee").values())))
        return redirect(_back(ticket_id), 303)
    flash(translate(notice, code=ticket["tracking_code"],
                    user=ticket.get("assignee") or translate("owner.nobody")))
    return redirect(_back(ticket_id), 303)


@requires_staff("handler")
def take(ticket_id: str) -> Response:
    d = deps()
    return _act(ticket_id, lambda: service.take(db=d.db, config=d.config,
                                                principal=current_staff(),
                                                ticket_id=ticket_id, now=d.clock()),
                "owner.taken")


@requires_staff("handler", *SUPERVISORS)
def give(ticket_id: str) -> Response:
    d = deps()
    assignee = (request.form.get("assignee") or "").strip()[:64] or None
    return _act(ticket_id, lambda: service.give(db=d.db, config=d.config,
                                                principal=current_staff(),
                                                ticket_id=ticket_id, assignee=assignee,
                                                now=d.clock()),
                "owner.given")


@requires_staff(*SUPERVISORS)
def bulk_assign() -> Response:
    d = deps()
    ids = [i for i in request.form.getlist("ticket_ids")[:200] if len(i) == 24]
    assignee = (request.form.get("assignee") or "").strip()[:64] or None
    if not ids:
        flash(translate("err.select_tickets"))
        return redirect(_back(), 303)
    results = bulk_give(d, current_staff(), ids, assignee)
    moved = sum(1 for r in results if r["status"] == 200)
    flash(translate("owner.bulk_done", moved=moved,
                    user=assignee or translate("owner.nobody")))
    for r in results:
        if r["status"] != 200:
            flash(f"{r['ticket_id'][-6:]}: {r['error']}")
    return redirect(_back(), 303)


@requires_staff("handler")
def availability() -> Response:
    d = deps()
    available = request.form.get("available") == "1"
    service.set_available(db=d.db, user=current_staff().user, available=available,
                          now=d.clock())
    flash(translate("owner.available_on" if available else "owner.available_off"))
    return redirect(_back(), 303)


def _days() -> int:
    raw = request.args.get("days", "30")
    return int(raw) if raw.isdigit() and int(raw) in WINDOWS else 30


@requires_staff(*SUPERVISORS)
def team() -> tuple[str, int]:
    d = deps()
    department = request.args.get("department") or None
    if department not in (None, *d.config.routing.departments()):
        department = None
    days = _days()
    rr = service.round_robin_departments(d.db)
    return render("team.html", load=service.load(db=d.db, config=d.config,
                                                 department=department),
                  stats=service.handler_stats(db=d.db, config=d.config,
                                              department=department,
                                              since=service.window_start(d.clock(), days)),
                  days=days, windows=WINDOWS, department=department,
                  department_codes=departments(), round_robin=rr,
                  handler_departments=sorted({p.department for p in
                                              service.handlers_of(d.config.staff)
                                              if p.department}))


@requires_staff(*SUPERVISORS)
def round_robin() -> Response:
    d = deps()
    department = request.form.get("department") or ""
    if department not in d.config.routing.departments():
        abort(404)
    enabled = request.form.get("enabled") == "1"
    service.set_round_robin(db=d.db, department=department, enabled=enabled, now=d.clock())
    flash(translate("owner.rr_on" if enabled else "owner.rr_off"))
    return redirect(url_for("staff.team"), 303)


def queue_context(principal: Any) -> dict[str, Any]:
    """What the queue page shows about owners: the owner tabs, the handler's availability,
    the handlers a supervisor may assign to."""
    d = deps()
    ctx: dict[str, Any] = {"owner_view": request.args.get("owner") or ""}
    if principal.role == "handler":
        ctx["available"] = service.availability(d.db, [principal.user])[principal.user]
    if principal.role in SUPERVISORS:
        ctx["assignable"] = service.handlers_of(d.config.staff)
    return ctx


def ticket_context(principal: Any, ticket: dict[str, Any]) -> dict[str, Any]:
    d = deps()
    owner = ticket.get("assignee")
    ownable = ticket["state"] in service.OWNABLE_STATES and bool(ticket.get("department"))
    may_give = ownable and (principal.role in SUPERVISORS or (
        principal.role == "handler" and owner in (None, principal.user)))
    return {"may_take": ownable and principal.role == "handler" and owner is None,
            "may_give": may_give,
            "colleagues": [p.user for p in service.handlers_of(d.config.staff,
                                                               ticket.get("department"))]}


ROUTES = (
    ("/tickets/<ticket_id>/take", take, ["POST"]),
    ("/tickets/<ticket_id>/assignee", give, ["POST"]),
    ("/queue/assignee", bulk_assign, ["POST"]),
    ("/me/availability", availability, ["POST"]),
    ("/team", team, ["GET"]),
    ("/team/round-robin", round_robin, ["POST"]),
)
