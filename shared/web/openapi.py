"""OpenAPI 3.1 documents built from the same pydantic models that validate requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": ["string", "null"]},
        # a domain refusal's stable code and its message's parameters (shared/errors.py)
        "code": {"type": "string"},
        "params": {"type": "object"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                               "code": {"type": "string"}},
            },
        },
    },
}


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    responses: dict[int, type[BaseModel] | dict[str, Any] | None]
    body: type[BaseModel] | None = None
    body_media: str = "application/json"
    parameters: list[dict[str, Any]] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    response_media: str = "application/json"
    problem_media: tuple[str, ...] = ("application/problem+json",)
    text_media: tuple[str, ...] = ()  # other representations, described as text
    description: str = ""
    extensions: dict[str, Any] = field(default_factory=dict)  # "x-..." keys


def build_document(
    *, title: str, version: str, description: str, operations: list[Operation],
    extra_models: tuple[type[BaseModel], ...] = (),
) -> dict[str, Any]:
    """`extra_models` are models referenced by hand-written schemas (arrays of a model)."""
    models: set[type[BaseModel]] = set(extra_models)
    for op in operations:
        if op.body is not None:
            models.add(op.body)
        models.update(r for r in op.responses.values() if isinstance(r, type))
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}"
    )
    components: dict[str, Any] = {"schemas": dict(schemas.get("$defs", {}))}
    components["schemas"]["Problem"] = PROBLEM_SCHEMA

    paths: dict[str, Any] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method}_{op.path}".replace("/", "_").replace("{", "")
            .replace("}", "").replace(".", "_").replace("-", "_"),
            "responses": {},
        }
        if op.description:
            entry["description"] = op.description
        entry.update(op.extensions)
        if op.tags:
            entry["tags"] = list(op.tags)
        if op.parameters:
            entry["parameters"] = op.parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {op.body_media: {"schema": _ref(op.body)}},
            }
        for status, resp in op.responses.items():
            if status >= 400:
                entry["responses"][str(status)] = {
                    "description": "Problem details (RFC 9457)",
                    "content": {media: {"schema": {"$ref": "#/components/schemas/Problem"}}
                                for media in op.problem_media},
                }
            elif resp is None:
                entry["responses"][str(status)] = {"description": "No content"}
            else:
                schema = _ref(resp) if isinstance(resp, type) else resp
                entry["responses"][str(status)] = {
                    "description": "OK",
                    "content": {op.response_media: {"schema": schema},
                                **{m: {"schema": {"type": "string"}} for m in op.text_media}},
                }
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": components,
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}
