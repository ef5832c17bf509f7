"""Open311 GeoReport v2 under /open311/v2/ (JSON and XML)."""

from __future__ import annotations

import re
from datetime import timedelta

from bson import ObjectId
from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from services.intake.deps import deps, enforce_rate_limit
from services.intake.open311.models import Open311RequestIn
from services.intake.open311.render import problem_xml, render
from services.intake.open311.service import query_requests, service_request, services
from services.intake.reports.api import submit
from services.intake.reports.service import NewReport
from services.intake.store import REPORTS, WITHOUT_SECRETS
from shared.danger import detect
from shared.errors import DomainError
from shared.taxonomy import CATEGORY_CODES, load_taxonomy
from shared.timefmt import parse_iso
from shared.web.body import fingerprint
from shared.web.i18n import translate
from shared.web.problems import Problem, domain_problem, field_errors, validation_problem

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
bp.before_request(enforce_rate_limit)
FORMATS = ("json", "xml")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_ATTRIBUTE = re.compile(r"^attribute\[[^\]]{1,64}\](\[\])?$")


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Problem(404, "Not Found", "Open311 answers in .json or .xml.", kind="not-found")
    return fmt


def _wants_xml() -> bool:
    return request.path.endswith(".xml")


@bp.errorhandler(Problem)
def _problem(exc: Problem) -> Response:
    return problem_xml(exc, request.path) if _wants_xml() else exc.to_response()


@bp.errorhandler(DomainError)
def _domain(exc: DomainError) -> Response:
    return _problem(domain_problem(exc))


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException) -> Response:
    problem = Problem(exc.code or 500, exc.name, exc.description,
                      kind=(exc.name or "error").lower().replace(" ", "-"))
    return _problem(problem)


@bp.get("/services.<fmt>")
def list_services(fmt: str) -> Response:
    return render(services(load_taxonomy()), _fmt(fmt), root="services", item="service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> Response:
    fmt = _fmt(fmt)
    if code not in CATEGORY_CODES:
        raise Problem(404, "Not Found", f"No service has the code {code!r}.", kind="not-found")
    if fmt == "json":
        return jsonify({"service_code": code, "attributes": []})
    return render([{"service_code": code}], "xml", root="service_definitions",
                  item="service_definition")


def _read_form() -> dict[str, str]:
    if request.mimetype not in _FORM_TYPES:
        raise Problem(415, "Unsupported Media Type",
                      "Open311 POST bodies are application/x-www-form-urlencoded.",
                      kind="unsupported-media-type",
                      errors=[{"field": "Content-Type",
                               "message": "expected application/x-www-form-urlencoded"}])
    limit = deps().settings.max_form_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, "Content Too Large", f"The body is over {limit} bytes.",
                      kind="content-too-large")
    request.max_form_memory_size = limit
    try:
        raw = request.get_data(cache=True)
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "Bad Request", "The body is not UTF-8.", kind="bad-encoding",
                      errors=[{"field": "body", "message": "not valid UTF-8"}]) from None
    return {k: v for k, v in request.form.items(multi=False) if not _ATTRIBUTE.match(k)}


@bp.post("/requests.<fmt>")
def create_request(fmt: str) -> Response:
    fmt = _fmt(fmt)
    d = deps()
    form = _read_form()
    try:
        body = Open311RequestIn.model_validate(
            form, context={"service_area": d.settings.service_area})
    except ValidationError as exc:
        raise validation_problem(field_errors(exc), status=400) from None
    if body.api_key not in d.settings.open311_api_keys:
        raise Problem(403, "Forbidden", "Unknown api_key.", kind="forbidden",
                      errors=[{"field": "api_key", "message": "not a valid API key"}])
    report = NewReport(
        channel="open311", description=body.description, category_hint=body.service_code,
        address=body.address_string or body.address_id, lat=body.lat, long=body.long,
        name=body.full_name, phone=body.phone, email=body.email, media_url=body.media_url,
    )
    sanitized = {k: v for k, v in form.items() if k != "api_key"}
    submitted = submit(report, fingerprint(sanitized))
    doc = submitted.doc
    notice = translate("open311.accepted", "vi", code=doc["tracking_code"])
    emergency = detect(body.description).guidance()
    if emergency is not None:
        notice = f"{emergency['vi']} {emergency['en']} {notice}"
    if submitted.citizen_key:
        notice += " " + translate("open311.citizen_key", "vi", secret=submitted.citizen_key)
    created = {
        "service_request_id": doc["tracking_code"],
        "token": str(doc["_id"]),
        "service_notice": notice,
        "account_id": None,
    }
    return render([created], fmt, root="service_requests", item="request", status=201)


def _csv(name: str) -> list[str] | None:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _date(name: str):
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        parsed = parse_iso(raw) if raw.strip() else None
    except ValueError:
        parsed = None
    if parsed is None or not 2000 <= parsed.year <= 2999:
        raise validation_problem([{"field": name, "message": "expected a W3C datetime between "
                                   "the years 2000 and 2999, e.g. 2026-01-01T00:00:00+07:00"}],
                                 status=422)
    return parsed


@bp.get("/requests.<fmt>")
def list_requests(fmt: str) -> Response:
    fmt = _fmt(fmt)
    d = deps()
    codes = _csv("service_code")
    unknown = [c for c in codes or [] if c not in CATEGORY_CODES]
    if unknown:
        raise validation_problem([{"field": "service_code",
                                   "message": f"unknown codes: {', '.join(unknown)}"}], status=400)
    statuses = _csv("status")
    if statuses and not set(statuses) <= {"open", "closed"}:
        raise validation_problem([{"field": "status", "message": "open or closed"}], status=400)
    start, end = _date("start_date"), _date("end_date")
    if start and end and (end < start or end - start > timedelta(days=90)):
        raise validation_problem([{"field": "end_date", "message": "after start_date and at "
                                   "most 90 days from it"}], status=422)
    docs = query_requests(db=d.db, now=d.clock(), ids=_csv("service_request_id"),
                          service_codes=codes, start=start, end=end, statuses=statuses)
    taxonomy = load_taxonomy()
    items = [service_request(doc, taxonomy, d.settings.timezone) for doc in docs]
    return render(items, fmt, root="service_requests", item="request")


@bp.get("/requests/<request_id>.<fmt>")
def get_request(request_id: str, fmt: str) -> Response:
    fmt = _fmt(fmt)
    d = deps()
    doc = d.db[REPORTS].find_one({"tracking_code": request_id}, WITHOUT_SECRETS)
    if doc is None:
        raise Problem(404, "Not Found", f"No service request {request_id!r}.", kind="not-found")
    item = service_request(doc, load_taxonomy(), d.settings.timezone)
    return render([item], fmt, root="service_requests", item="request")


@bp.get("/tokens/<token>.<fmt>")
def get_token(token: str, fmt: str) -> Response:
    fmt = _fmt(fmt)
    if not ObjectId.is_valid(token):
        raise validation_problem([{"field": "token", "message": "not a token"}], status=400)
    doc = deps().db[REPORTS].find_one({"_id": ObjectId(token)}, {"tracking_code": 1})
    if doc is None:
        raise Problem(404, "Not Found", f"No token {token!r}.", kind="not-found")
    return render([{"service_request_id": doc["tracking_code"], "token": token}], fmt,
                  root="service_requests", item="request")
