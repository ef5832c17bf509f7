"""Errors as RFC 9457 problem details (`application/problem+json`), never an HTML page."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, json, request
from pydantic import ValidationError
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

from shared.errors import DomainError
from shared.retry import CircuitBreaker

PROBLEM_MIME = "application/problem+json"
log = logging.getLogger(__name__)
STORE_RETRY_AFTER_S = 2


class Problem(Exception):
    """Raise from a view to answer with problem details."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        kind: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = errors or []
        self.headers = headers or {}
        self.extensions = extensions or {}  # RFC 9457 extension members

    def to_response(self) -> Response:
        body: dict[str, Any] = {
            "type": f"/problems/{self.kind}",
            "title": self.title,
            "status": self.status,
            "instance": request.path if request else None,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extensions)
        resp = Response(json.dumps(body, ensure_ascii=False), self.status, mimetype=PROBLEM_MIME)
        for name, value in self.headers.items():
            resp.headers[name] = value
        return resp


def domain_problem(exc: DomainError) -> Problem:
    """A domain refusal as problem details: its status, its code as the type and as `code`
    (with the message's `params`, so a client translates it), and the field at fault when it
    names one."""
    errors = ([{"field": exc.field, "message": exc.detail}]
              if exc.field and exc.field != "form" else None)
    extensions: dict[str, Any] = {"code": exc.code}
    if exc.params:
        extensions["params"] = {k: v if isinstance(v, int | float | bool) else str(v)
                                for k, v in exc.params.items()}
    return Problem(exc.status, exc.title, exc.detail, kind=exc.code.replace("_", "-"),
                   errors=errors, headers=exc.headers, extensions=extensions)


def store_unavailable() -> Problem:
    return Problem(503, "Service Unavailable",
                   "The data store is unavailable; retry later with the same Idempotency-Key.",
                   kind="store-unavailable", headers={"Retry-After": str(STORE_RETRY_AFTER_S)})


NO_STORE_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})


def install_store_breaker(app: Flask, breaker: CircuitBreaker) -> None:
    """While the store is known to be down, answer 503 at once instead of holding a request
    thread for the whole store timeout; one request at a time probes whether it is back."""
    app.extensions["store_breaker"] = breaker

    @app.before_request
    def _fail_fast() -> Response | None:
        if request.path in NO_STORE_PATHS or breaker.allow():
            return None
        return store_unavailable().to_response()

    @app.after_request
    def _probe_passed(response: Response) -> Response:
        if response.status_code < 500 and request.path not in NO_STORE_PATHS:
            breaker.succeeded()
        return response


def field_errors(exc: ValidationError, *, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as [{field, message, code}], the field as a dotted path and the code
    the error's type (`string_too_short`, `description_too_short`...): what a client reads to
    tell one error from another, never the message."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in err["loc"] if p not in ("body",))
        out.append({"field": f"{prefix}{path}" if path else prefix.rstrip(".") or "body",
                    "message": err["msg"], "code": err["type"]})
    return out


def validation_problem(errors: list[dict[str, str]], status: int = 422) -> Problem:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return Problem(status, "Validation failed", f"Invalid fields: {fields}",
                   kind="validation", errors=errors)


def install_problem_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return exc.to_response()

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> Response:
        return domain_problem(exc).to_response()

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        problem = Problem(exc.code or 500, exc.name, exc.description,
                          kind=(exc.name or "error").lower().replace(" ", "-"))
        resp = problem.to_response()
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(PyMongoError)
    def _store_unavailable(exc: PyMongoError) -> Response:
        # the store is down, slow or restarting: the client retries (with the same
        # Idempotency-Key for a report, which then exists once). Logged without a traceback:
        # an outage would otherwise write one per request.
        log.warning("store unavailable on %s %s: %s", request.method, request.path,
                    type(exc).__name__)
        breaker = current_app.extensions.get("store_breaker")
        if breaker is not None:
            breaker.failed()
        return store_unavailable().to_response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return Problem(500, "Internal Server Error", "The error was logged.",
                       kind="internal").to_response()
