"""Intake's OpenAPI document, generated from the request and response models."""

from __future__ import annotations

from typing import Any

from services.intake.open311.models import (
    Open311RequestIn,
    RequestCreatedOut,
    ServiceOut,
    ServiceRequestOut,
    TokenOut,
)
from services.intake.reports.models import (
    CitizenActionOut,
    CitizenRatingIn,
    CitizenReopenIn,
    ReportCreated,
    ReportIn,
    ReportStatus,
)
from shared.web.openapi import Operation, build_document

FMT = {"name": "fmt", "in": "path", "required": True,
       "schema": {"type": "string", "enum": ["json", "xml"]}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                          "pattern": "^[\\x21-\\x7e]+$"}}
CODE = {"name": "tracking_code", "in": "path", "required": True,
        "schema": {"type": "string", "pattern": "^[A-Z]{2,5}-\\d{4}-\\d{6,9}$"}}
STAFF_KEY = {"name": "X-API-Key", "in": "header", "required": False,
             "description": "Staff key; required on the call_center channel",
             "schema": {"type": "string"}}


def _q(name: str, description: str, fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _array(model: type) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{model.__name__}"}}


def open311(path: str, method: str, summary: str, responses: dict, **kw: Any) -> Operation:
    """Open311 answers in the format its path asks for, JSON or XML, problems included."""
    return Operation(path, method, summary, responses, tags=("open311",),
                     response_media="application/json",
                     problem_media=("application/problem+json", "application/problem+xml"),
                     text_media=("text/xml",),
                     **kw)


def document() -> dict[str, Any]:
    ops = [
        Operation("/api/v1/reports", "post", "File a citizen report",
                  {201: ReportCreated, 400: None, 401: None, 413: None, 415: None, 422: None,
                   429: None},
                  body=ReportIn, parameters=[IDEMPOTENCY, STAFF_KEY], tags=("reports",)),
        Operation("/api/v1/reports/{tracking_code}", "get", "Status of a report",
                  {200: ReportStatus, 400: None, 404: None, 429: None},
                  parameters=[CODE],
                  tags=("reports",)),
        *[Operation(f"/api/v1/reports/{{tracking_code}}/{action}", "post", summary,
                    {200: CitizenActionOut, 400: None, 403: None, 404: None, 409: None, 413: None,
                     415: None, 422: None, 429: None, 503: None},
                    body=model, parameters=[CODE], tags=("reports",))
          for action, model, summary in (
              ("rating", CitizenRatingIn, "Rate a resolved report 1 to 5"),
              ("reopen", CitizenReopenIn, "Reopen a report within 7 days of resolution"))],
        open311("/open311/v2/services.{fmt}", "get", "Open311: list services",
                {200: _array(ServiceOut), 404: None, 429: None}, parameters=[FMT]),
        open311("/open311/v2/requests.{fmt}", "post", "Open311: create a service request",
                {201: _array(RequestCreatedOut), 400: None, 401: None, 403: None, 404: None,
                 413: None,
                 415: None, 422: None, 429: None},
                body=Open311RequestIn, body_media="application/x-www-form-urlencoded",
                parameters=[FMT]),
        open311("/open311/v2/requests.{fmt}", "get", "Open311: query service requests",
                {200: _array(ServiceRequestOut), 400: None, 404: None, 422: None, 429: None},
                parameters=[FMT, _q("service_request_id", "comma-separated ids"),
                            _q("service_code", "comma-separated codes"),
                            _q("start_date", "W3C datetime", "date-time"),
                            _q("end_date", "W3C datetime", "date-time"),
                            _q("status", "open, closed")]),
        open311("/open311/v2/requests/{request_id}.{fmt}", "get",
                "Open311: one service request",
                {200: _array(ServiceRequestOut), 404: None, 429: None},
                parameters=[FMT, {"name": "request_id", "in": "path", "required": True,
                                  "schema": {"type": "string"}}]),
        open311("/open311/v2/tokens/{token}.{fmt}", "get", "Open311: request id of a token",
                {200: _array(TokenOut), 400: None, 404: None, 429: None},
                parameters=[FMT, {"name": "token", "in": "path", "required": True,
                                  "schema": {"type": "string"}}]),
        Operation("/healthz", "get", "Liveness", {200: {"type": "object"}}, tags=("ops",)),
        Operation("/readyz", "get", "Readiness: store and broker reachable",
                  {200: {"type": "object"}, 503: None}, tags=("ops",)),
    ]
    return build_document(
        title="1022 intake", version="1.0.0",
        description="Accepts citizen reports from the web, the app, the call center and "
                    "Open311 GeoReport v2 clients.",
        operations=ops,
        extra_models=(ServiceOut, ServiceRequestOut, RequestCreatedOut, TokenOut),
    )
