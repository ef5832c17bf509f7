"""Answer templates on the staff pages: the handler picks one on the ticket page (the public
note is filled, to edit and send, no script needed); admins manage them on their page."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, get_flashed_messages, redirect, request, url_for

from services.tracker.answers import service
from services.tracker.answers.models import TemplateIn
from services.tracker.deps import deps
from services.tracker.pages import forms
from services.tracker.pages.common import departments, render
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.permissions import Action
from shared.web.i18n import translate
from shared.web.routes import Routes

routes = Routes()


def ticket_context(ticket: dict[str, Any]) -> dict[str, Any]:
    d = deps()
    templates = service.list_templates(d.db, ticket.get("department")) \
        if ticket.get("department") else []
    chosen = request.args.get("template")
    prefill = None
    if chosen:
        template = next((t for t in templates if t["_id"] == chosen), None)
        if template is not None:
            prefill = service.render(template["body"], ticket, tz=d.settings.timezone)
    return {"answer_templates": templates, "answer_chosen": chosen, "answer_prefill": prefill}


def _page(*, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
          editing: str | None = None, status: int = 200) -> tuple[str, int]:
    d = deps()
    return render("templates.html", status, templates=service.list_templates(d.db, None),
                  department_codes=departments(), values=values or {}, errors=errors or {},
                  editing=editing, placeholders=service.PLACEHOLDERS,
                  notices=get_flashed_messages())


@routes.get("/answer-templates")
@requires_staff(Action.MANAGE_TEMPLATES)
def answer_templates() -> tuple[str, int]:
    editing = request.args.get("edit")
    values = {}
    if editing:
        doc = service.get_template(deps().db, editing)
        if doc is None:
            abort(404)
        values = {"department": doc["department"], "title": doc["title"], "body": doc["body"]}
    return _page(values=values, editing=editing)


@routes.post("/answer-templates/save")
@requires_staff(Action.MANAGE_TEMPLATES)
def save_answer_template() -> Response | tuple[str, int]:
    d = deps()
    values = forms.values(request.form, ("department", "title", "body", "template_id"))
    editing = values.pop("template_id") or None
    body, errors = forms.parse(TemplateIn, {k: values[k] for k in ("department", "title",
                                                                     "body")})
    if body is not None and body.department not in d.config.routing.departments():
        body, errors = None, {"department": translate("err.choice")}
    if body is not None:
        try:
            service.save(d.db, template_id=editing, department=body.department,
                         title=body.title, body=body.body, by=current_staff().user,
                         now=d.clock())
        except service.TemplateError as exc:
            errors = {exc.field: translate("answers.bad_placeholder",
                                           allowed=", ".join("{" + p + "}" for p in
                                                             service.PLACEHOLDERS))}
        except LookupError:
            abort(404)
        else:
            flash(translate("answers.saved", title=body.title))
            return redirect(url_for("staff.answer_templates"), 303)
    return _page(values=values, errors=errors, editing=editing, status=422)


@routes.post("/answer-templates/<template_id>/delete")
@requires_staff(Action.MANAGE_TEMPLATES)
def remove_answer_template(template_id: str) -> Response:
    if not service.delete(deps().db, template_id):
        abort(404)
    flash(translate("answers.deleted"))
    return redirect(url_for("staff.answer_templates"), 303)

