"""Reading request bodies into pydantic models, every failure a problem naming the field."""

from __future__ import annotations

import hashlib
import json
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from shared.web.problems import Problem, field_errors, validation_problem

M = TypeVar("M", bound=BaseModel)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


def json_body() -> Any:
    if request.mimetype != "application/json":
        raise Problem(415, "Unsupported Media Type",
                      "Send the body as application/json.", kind="unsupported-media-type",
                      errors=[{"field": "Content-Type", "message": "expected application/json"}])
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "Bad Request", f"The body is not UTF-8 (byte {exc.start}).",
                      kind="bad-encoding",
                      errors=[{"field": "body", "message": "not valid UTF-8"}]) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise Problem(400, "Bad Request", f"Malformed JSON: {exc}", kind="malformed-json",
                      errors=[{"field": "body", "message": "malformed JSON"}]) from None


def parse_model(model: type[M], data: Any, *, context: dict[str, Any] | None = None) -> M:
    if not isinstance(data, dict):
        raise validation_problem([{"field": "body", "message": "expected a JSON object"}])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise validation_problem(field_errors(exc)) from None


def fingerprint(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: a JSON "\\ud800" escape decodes to a lone surrogate (stripped later)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
