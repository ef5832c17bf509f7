"""The staff forms read into the tickets API's own models, and the service's refusals, as
messages next to the field in the page's language."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import ImmutableMultiDict

from shared.errors import DomainError
from shared.limits import DESCRIPTION_MAX, DESCRIPTION_MIN
from shared.web.i18n import has_key, label, translate

Errors = dict[str, str]


def text(form: ImmutableMultiDict[str, str], name: str, limit: int = 8000) -> str:
    return (form.get(name) or "")[:limit]


def values(form: ImmutableMultiDict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {name: text(form, name) for name in names}
    if "public" in names:
        out["public"] = form.get("public") == "1"
    return out


def _message(name: str, error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if name == "note" and kind == "string_too_short":
        return translate("err.required")
    if kind == "missing":
        return translate("err.required")
    if kind in {"literal_error", "enum", "value_error"}:
        return translate("err.choice")
    if kind == "string_too_long":
        return translate("err.too_long", max=ctx.get("max_length", ""))
    if kind in {"too_short"} and name == "ticket_ids":
        return translate("err.select_tickets")
    if kind == "too_long":
        return translate("err.too_many", max=ctx.get("max_length", ""))
    return translate("err.invalid")


def parse(model: type[BaseModel], data: dict[str, Any]) -> tuple[Any, Errors]:
    """The model, or {field: message} for the first error of each field."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: Errors = {}
        for err in exc.errors(include_url=False, include_input=False):
            name = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(name, _message(name, err))
        return None, errors


def optional(value: str) -> str | None:
    value = value.strip()
    return value or None


def error_message(exc: DomainError) -> str:
    """A refusal of the tickets service in the page's language, by its code."""
    params = {name: label("state", value) if name in {"current", "target"} else value
              for name, value in exc.params.items()}
    if not has_key(exc.message_key):
        return translate("err.not_allowed")
    return translate(exc.message_key, **params)


def service_error(exc: DomainError, field: str) -> Errors:
    """A refusal of the tickets service, shown on the form's main field (an edit conflict on
    the whole form)."""
    return {"form" if exc.field == "form" else field: error_message(exc)}


DESCRIPTION_TOO_SHORT = frozenset({"string_too_short", "description_too_short"})


def description_error(code: str) -> str:
    """The description's error by its code (intake's field error `code`)."""
    short = code in DESCRIPTION_TOO_SHORT
    return translate("err.description_short" if short else "err.description_long",
                     min=DESCRIPTION_MIN, max=f"{DESCRIPTION_MAX:,}".replace(",", "."))


# intake's error field paths -> the operator form's fields
INTAKE_FIELDS = {"description": "description", "call.caller_phone": "caller_phone",
                 "call.call_id": "call_id", "category_hint": "category",
                 "district": "district", "address": "address", "call.operator_id": "form",
                 "Idempotency-Key": "form", "reporter.email": "caller_email"}


def intake_errors(problem_errors: list[dict[str, str]]) -> Errors:
    errors: Errors = {}
    for err in problem_errors:
        name = INTAKE_FIELDS.get(err.get("field", ""), "form")
        if name == "description":
            errors.setdefault(name, description_error(err.get("code", "")))
        elif name == "caller_phone":
            errors.setdefault(name, translate("err.phone"))
        elif name == "call_id":
            errors.setdefault(name, translate("err.call_id"))
        elif name in {"category", "district"}:
            errors.setdefault(name, translate("err.choice"))
        elif name == "address":
            errors.setdefault(name, translate("err.too_long", max=300))
        else:
            errors.setdefault(name, translate("err.invalid"))
    return errors or {"form": translate("err.invalid")}
