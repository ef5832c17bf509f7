"""The answer templates API in the tracker's OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

from services.tracker.answers.models import RenderedOut, TemplateIn, TemplateListOut, TemplateOut
from shared.web.openapi import Operation

_ID = {"name": "template_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TICKET = {"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}
_DEPT = {"name": "department", "in": "query", "required": False, "schema": {"type": "string"}}


def operations(op: Callable[..., Operation]) -> list[Operation]:
    return [
        op("/api/v1/answer-templates", "get", "Answer templates (a handler: its department's)",
           TemplateListOut, params=(_DEPT,), tag="answers"),
        op("/api/v1/answer-templates", "post", "New answer template (admins)", TemplateOut,
           body=TemplateIn, tag="answers"),
        op("/api/v1/answer-templates/{template_id}", "put", "Edit an answer template (admins)",
           TemplateOut, body=TemplateIn, params=(_ID,), tag="answers"),
        op("/api/v1/tickets/{ticket_id}/answer-templates/{template_id}", "get",
           "The template filled for the ticket", RenderedOut, params=(_TICKET, _ID),
           tag="answers"),
    ]
