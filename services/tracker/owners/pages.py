"""Owner actions on the staff pages: take, give or release a ticket, bulk reassign from the
queue, the handler's availability, and the supervisor's team page (load, oldest deadline,
per-handler figures, round-robin per department)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for

from services.tracker.deps import deps
from services.tracker.owners import service
from services.tracker.pages import forms
from services.tracker.pages.common import WINDOWS, departments, render, window_days
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.permissions import Action, allowed
from services.tracker.staff import Role
from services.tracker.tickets.errors import TicketNotFound
from shared.errors import DomainError
from shared.web.i18n import translate
from shared.web.routes import Routes

routes = Routes()


def _back(ticket_id: str | None = None) -> str:
    target = request.form.get("next") or ""
    if target in {"queue", ""} or ticket_id is None:
        query = request.form.get("back") or ""
        return url_for("staff.queue") + (f"?{query}" if query and "//" not in query else "")
    return url_for("staff.ticket", ticket_id=ticket_id)


def _act(ticket_id: str, action: Any, notice: str) -> Response:
    try:
        ticket = action()
    except TicketNotFound:
        abort(404)
    except DomainError as exc:
        flash(next(iter(forms.service_error(exc, "assignee").values())))
        return redirect(_back(ticket_id), 303)
    flash(translate(notice, code=ticket["tracking_code"],
                    user=ticket.get("assignee") or translate("owner.nobody")))
    return redirect(_back(ticket_id), 303)


@routes.post("/tickets/<ticket_id>/take")
@requires_staff(Action.TAKE)
def take(ticket_id: str) -> Response:
    d = deps()
    return _act(ticket_id, lambda: service.take(db=d.db, config=d.config,
                                                principal=current_staff(),
                                                ticket_id=ticket_id, now=d.clock()),
                "owner.taken")


@routes.post("/tickets/<ticket_id>/assignee")
@requires_staff(Action.ASSIGN)
def give(ticket_id: str) -> Response:
    d = deps()
    assignee = (request.form.get("assignee") or "").strip()[:64] or None
    return _act(ticket_id, lambda: service.give(db=d.db, config=d.config,
                                                principal=current_staff(),
                                                ticket_id=ticket_id, assignee=assignee,
                                                now=d.clock()),
                "owner.given")


@routes.post("/queue/assignee")
@requires_staff(Action.BULK_ASSIGN)
def bulk_assign() -> Response:
    d = deps()
    ids = [i for i in request.form.getlist("ticket_ids")[:200] if len(i) == 24]
    assignee = (request.form.get("assignee") or "").strip()[:64] or None
    if not ids:
        flash(translate("err.select_tickets"))
        return redirect(_back(), 303)
    results = service.bulk_give(db=d.db, config=d.config, principal=current_staff(),
                                ticket_ids=ids, assignee=assignee, now=d.clock())
    moved = sum(1 for r in results if r["status"] == 200)
    flash(translate("owner.bulk_done", moved=moved,
                    user=assignee or translate("owner.nobody")))
    for r in results:
        if r["status"] != 200:
            flash(f"{r['ticket_id'][-6:]}: {r['error']}")
    return redirect(_back(), 303)


@routes.post("/me/availability")
@requires_staff(Action.SET_AVAILABILITY)
def availability() -> Response:
    d = deps()
    available = request.form.get("available") == "1"
    service.set_available(db=d.db, principal=current_staff(), available=available,
                          now=d.clock())
    flash(translate("owner.available_on" if available else "owner.available_off"))
    return redirect(_back(), 303)


@routes.get("/team")
@requires_staff(Action.VIEW_LOAD)
def team() -> tuple[str, int]:
    d = deps()
    department = request.args.get("department") or None
    if department not in (None, *d.config.routing.departments()):
        department = None
    days = window_days()
    rr = service.round_robin_departments(d.db)
    principal = current_staff()
    return render("team.html", load=service.load(db=d.db, config=d.config,
                                                 principal=principal, department=department),
                  stats=service.handler_stats(db=d.db, config=d.config, principal=principal,
                                              department=department,
                                              since=service.window_start(d.clock(), days)),
                  days=days, windows=WINDOWS, department=department,
                  department_codes=departments(), round_robin=rr,
                  handler_departments=sorted({p.department for p in
                                              service.handlers_of(d.config.staff)
                                              if p.department}))


@routes.post("/team/round-robin")
@requires_staff(Action.SET_ROUND_ROBIN)
def round_robin() -> Response:
    d = deps()
    department = request.form.get("department") or ""
    if department not in d.config.routing.departments():
        abort(404)
    enabled = request.form.get("enabled") == "1"
    service.set_round_robin(db=d.db, principal=current_staff(), department=department,
                            enabled=enabled, now=d.clock())
    flash(translate("owner.rr_on" if enabled else "owner.rr_off"))
    return redirect(url_for("staff.team"), 303)


def queue_context(principal: Any) -> dict[str, Any]:
    """What the queue page shows about owners: the owner tabs, the handler's availability,
    the handlers a supervisor may assign to."""
    d = deps()
    ctx: dict[str, Any] = {"owner_view": request.args.get("owner") or ""}
    if allowed(principal.role, Action.SET_AVAILABILITY):
        ctx["available"] = service.availability(d.db, [principal.user])[principal.user]
    if allowed(principal.role, Action.BULK_ASSIGN):
        ctx["assignable"] = service.handlers_of(d.config.staff)
    return ctx


def ticket_context(principal: Any, ticket: dict[str, Any]) -> dict[str, Any]:
    d = deps()
    owner = ticket.get("assignee")
    ownable = ticket["state"] in service.OWNABLE_STATES and bool(ticket.get("department"))
    may_give = ownable and allowed(principal.role, Action.ASSIGN) and (
        principal.role != Role.HANDLER or owner in (None, principal.user))
    return {"may_take": ownable and allowed(principal.role, Action.TAKE) and owner is None,
            "may_give": may_give,
            "colleagues": [p.user for p in service.handlers_of(d.config.staff,
                                                               ticket.get("department"))]}

