"""The classifier's HTTP API: a live suggestion for the call-center console."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Flask, Response, jsonify
from pydantic import BaseModel, ConfigDict, Field

from services.classifier import train as training
from services.classifier.model import ReportClassifier
from services.classifier.registry import ModelHolder, decision_metrics
from shared.settings import Settings
from shared.web.app_base import base_app
from shared.web.body import json_body, parse_model
from shared.web.openapi import Operation, build_document

MAX_TEXT = 50_000


class ClassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT,
                               description="The report as typed; all of it is read")]
    id: Annotated[str, Field(max_length=100)] | None = None


class ClassifyOut(BaseModel):
    id: str | None
    category: str
    confidence: float
    top3: list[tuple[str, float]]
    urgent: bool
    district: str | None
    needs_triage: bool
    model_version: str
    outcome: Literal["routed", "needs_triage", "not_a_report"]
    triage_reason: str | None
    danger: list[str]
    call_now: list[str]


def document() -> dict[str, Any]:
    return build_document(
        title="1022 classifier", version="1.0.0",
        description="Category, district and urgency for a Vietnamese report (the department "
                    "is the tracker's to decide).",
        operations=[
            Operation("/api/v1/classify", "post", "Classify one report",
                      {200: ClassifyOut, 400: None, 413: None, 415: None, 422: None},
                      body=ClassifyIn, tags=("classify",)),
            Operation("/healthz", "get", "Liveness", {200: {"type": "object"}}, tags=("ops",)),
            Operation("/readyz", "get", "Readiness", {200: {"type": "object"}, 503: None},
                      tags=("ops",)),
        ])


def create_app(settings: Settings | None = None, *,
               classifier: ReportClassifier | None = None) -> Flask:
    from shared.mongo import connect, database

    settings = settings or Settings.from_env(service="classifier")
    state: dict[str, Any] = {}

    def store() -> Any:  # opened on first use, in the gunicorn worker, never before the fork
        if "db" not in state:
            state["db"] = database(connect(settings), settings)
        return state["db"]

    models = ModelHolder(db=store, fallback=classifier or training.load(
        settings.classifier_model_path), key=settings.model_signing_key,
        interval=settings.classifier_model_check_seconds)
    decisions = decision_metrics(store)

    app = base_app(__name__, service="classifier", openapi=document,
                   readiness=lambda: {"model": models.model is not None},
                   collectors=[decisions])
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

    @app.post("/api/v1/classify")
    def classify() -> Response:
        body = parse_model(ClassifyIn, json_body())
        model = models.current(wait=False)
        prediction = model.predict([body.text])[0]
        return jsonify({"id": body.id, **prediction.as_dict(),
                        "model_version": model.version})

    return app
