"""/api/v1/answer-templates: staff read them and render one for a ticket; admins manage."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from services.tracker.answers import service
from services.tracker.answers.models import TemplateIn
from services.tracker.auth import requires
from services.tracker.deps import deps
from services.tracker.permissions import Action
from services.tracker.staff import Role
from services.tracker.tickets import service as tickets
from shared.web.body import json_body, parse_model
from shared.web.problems import Problem, validation_problem

bp = Blueprint("answers", __name__, url_prefix="/api/v1")


def template_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "department": doc["department"], "title": doc["title"],
            "body": doc["body"], "updated_by": doc["updated_by"],
            "updated_at": doc["updated_at"]}


def _not_found() -> Problem:
    return Problem(404, "Not Found", "No such answer template.", kind="template-not-found")


@bp.get("/answer-templates")
@requires(Action.VIEW_TEMPLATES)
def list_templates() -> Response:
    p = g.principal
    department = p.department if p.role == Role.HANDLER else request.args.get("department")
    return jsonify(items=[template_out(t) for t in service.list_templates(deps().db,
                                                                          department)])


def _save(template_id: str | None) -> Response:
    d, body = deps(), parse_model(TemplateIn, json_body())
    if body.department not in d.config.routing.departments():
        raise validation_problem([{"field": "department", "message": "unknown department"}])
    try:
        doc = service.save(d.db, template_id=template_id, department=body.department,
                           title=body.title, body=body.body, by=g.principal.user,
                           now=d.clock())
    except service.TemplateError as exc:
        raise validation_problem([{"field": exc.field, "message": str(exc)}]) from None
    except LookupError:
        raise _not_found() from None
    return jsonify(template_out(doc))


@bp.post("/answer-templates")
@requires(Action.MANAGE_TEMPLATES)
def create() -> Response:
    return _save(None)


@bp.put("/answer-templates/<template_id>")
@requires(Action.MANAGE_TEMPLATES)
def update(template_id: str) -> Response:
    return _save(template_id)


@bp.delete("/answer-templates/<template_id>")
@requires(Action.MANAGE_TEMPLATES)
def remove(template_id: str) -> Response:
    if not service.delete(deps().db, template_id):
        raise _not_found()
    return Response(status=204)


@bp.get("/tickets/<ticket_id>/answer-templates/<template_id>")
@requires(Action.VIEW_TEMPLATES)
def rendered(ticket_id: str, template_id: str) -> Response:
    d = deps()
    ticket = tickets.get_ticket(db=d.db, principal=g.principal, ticket_id=ticket_id)
    template = service.get_template(d.db, template_id)
    if template is None or template["department"] != ticket.get("department"):
        raise _not_found()
    return jsonify(template_id=template_id, ticket_id=ticket_id,
                   text=service.render(template["body"], ticket, tz=d.settings.timezone))
