"""The resident's pages: the report form, its confirmation with the tracking code, and the
tracking page with the rating and reopen forms. Server-rendered, no JavaScript needed.

They call the same code as the JSON API: `ReportIn` validates, `submit_report` stores, and
the rating and reopen go to the tracker through `citizen_action`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from services.intake import citizen_keys
from services.intake.deps import client_key, deps
from services.intake.errors import IdempotencyConflict, TrackerUnavailable
from services.intake.notify.links import report_of_answer_token
from services.intake.pages import forms
from services.intake.reports.api import TRACKING_CODE
from services.intake.reports.service import (
    citizen_reply,
    find_by_tracking_code,
    public_status,
    submit_report,
)
from services.intake.tracker_client import citizen_action
from shared.danger import detect
from shared.errors import DomainError
from shared.limits import REPLY_TEXT_MAX
from shared.redact import redact_contacts
from shared.settings import Settings
from shared.taxonomy import DISTRICT_CODES, load_taxonomy
from shared.web import pages
from shared.web.csrf import CsrfError
from shared.web.i18n import has_key, translate
from shared.web.routes import Routes

routes = Routes()

FORM_NONCE = "submission"


def _rate_limit() -> Response | None:
    d = deps()
    limiter = d.write_limiter if request.method == "POST" else d.read_limiter
    if request.endpoint == "resident.static":
        return None
    retry_after = limiter.check(client_key())
    if retry_after is None:
        return None
    response = _error_page(429, "error.rate_limited")
    response.headers["Retry-After"] = str(int(retry_after) + 1)
    return response


def _error_page(status: int, message_key: str) -> Response:
    body = render_template("resident/error.html", message=translate(message_key),
                           status=status)
    return Response(body, status, mimetype="text/html")


def _csrf_failed(_: CsrfError) -> Response:
    return _error_page(400, "error.csrf")


def _too_large(_: RequestEntityTooLarge) -> Response:
    return _error_page(413, "error.too_large")


def _not_found(_: HTTPException) -> Response:
    return _error_page(404, "error.not_found")


def _choices() -> dict[str, Any]:
    return {"categories": load_taxonomy().category_codes, "districts": DISTRICT_CODES}


def _render_form(values: dict[str, str], errors: dict[str, str], status: int = 200
                 ) -> tuple[str, int]:
    nonce = request.form.get(FORM_NONCE) if request.method == "POST" else None
    return render_template("resident/report_form.html", values=values, errors=errors,
                           nonce=nonce or secrets.token_urlsafe(16),
                           max_photos=forms.MAX_PHOTOS, **_choices()), status


@routes.get("/")
def report_form() -> tuple[str, int]:
    return _render_form(dict.fromkeys(forms.REPORT_FIELDS, ""), {})


@routes.post("/")
def submit() -> Response | tuple[str, int]:
    d = deps()
    result = forms.read_report(request.form, request.files,
                               service_area=d.settings.service_area,
                               max_photo_bytes=d.settings.max_photo_bytes)
    if result.report is None:
        return _render_form(result.values, result.errors, 422)
    nonce = request.form.get(FORM_NONCE) or ""
    key = f"web-form:{nonce}" if 8 <= len(nonce) <= 64 and nonce.isascii() else None
    try:
        submitted = submit_report(db=d.db, report=result.report, cipher=d.cipher,
                                  codes=d.codes, clock=d.clock, idempotency_key=key,
                                  fingerprint=result.fingerprint, insert=d.report_writer.insert,
                                  blind=d.blind)
    except IdempotencyConflict:
        # the same form page sent again after an edit: a new report
        submitted = submit_report(db=d.db, report=result.report, cipher=d.cipher,
                                  codes=d.codes, clock=d.clock, insert=d.report_writer.insert,
                                  blind=d.blind)
    code = submitted.doc["tracking_code"]
    if submitted.citizen_key:
        _remember_key(code, submitted.citizen_key)
    return redirect(url_for(".submitted", code=code), 303)


# The citizen's keys this browser was given or typed in, newest last: they let it rate and
# reopen those reports. The session cookie is signed, and holds only the citizen's own keys.
KEPT_KEYS = 10


def _remember_key(code: str, key: str) -> None:
    keys = {c: k for c, k in session.get("citizen_keys", {}).items() if c != code}
    keys[code] = key
    session["citizen_keys"] = dict(list(keys.items())[-KEPT_KEYS:])


def _held_key(doc: dict[str, Any]) -> str | None:
    """The report's key, if this browser holds it."""
    key = session.get("citizen_keys", {}).get(doc["tracking_code"])
    return key if citizen_keys.matches(doc, key, deps().cipher) else None


@routes.get("/submitted/<code>")
def submitted(code: str) -> str:
    doc = _report(code)
    key = _held_key(doc)  # shown only to the browser that filed it
    emergency = detect(doc.get("description") or "").guidance()
    return render_template("resident/submitted.html", code=doc["tracking_code"], key=key,
                           emergency=emergency)


def _report(code: str) -> dict[str, Any]:
    if not TRACKING_CODE.match(code):
        abort(404)
    doc = find_by_tracking_code(db=deps().db, tracking_code=code, with_key=True)
    if doc is None:
        abort(404)
    return doc


@routes.get("/track")
def track_lookup() -> Response | tuple[str, int]:
    raw = request.args.get("code")
    if raw is None:
        return render_template("resident/track_lookup.html", code="", error=None), 200
    code = raw.strip().upper()
    if not TRACKING_CODE.match(code):
        error = translate("err.code_format")
    elif find_by_tracking_code(db=deps().db, tracking_code=code) is None:
        error = translate("err.code_unknown")
    else:
        return redirect(url_for(".track", code=code), 303)
    return render_template("resident/track_lookup.html", code=raw[:40], error=error), 422


def _render_track(code: str, *, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None, status: int = 200
                  ) -> tuple[str, int]:
    d = deps()
    doc = _report(code)
    view = public_status(doc, now=d.clock())
    view["has_key"] = _held_key(doc) is not None
    done = session.pop("citizen_done", None)
    if done == code:
        # the tracker took the rating or reopen; this copy learns it a moment later
        view["can_rate"] = view["can_reopen"] = view["can_reply"] = False
    g.page_path = url_for(".track", code=code)
    return render_template("resident/track.html", report=view, errors=errors or {},
                           values=values or {}, notices=get_flashed_messages()), status


@routes.get("/track/<code>")
def track(code: str) -> tuple[str, int]:
    return _render_track(code)


@routes.post("/track/<code>/key")
def enter_key(code: str) -> Response | tuple[str, int]:
    """The key typed on another device. Posted, so that it never lands in an address bar,
    a browser history or a proxy's access log."""
    doc = _report(code)
    typed = request.form.get("key") or ""
    if not citizen_keys.matches(doc, typed, deps().cipher):
        return _render_track(code, errors={"key": translate("err.citizen_key_wrong")},
                             values={"key": typed[:40]}, status=403)
    _remember_key(code, citizen_keys.normalise(typed))
    return redirect(url_for(".track", code=code), 303)


def refusal_message(exc: DomainError, action: str) -> str:
    """The tracker's refusal in the page's language, by its code; the action's general
    message for a code the catalogue does not know (or whose parameters did not come)."""
    if isinstance(exc, TrackerUnavailable):
        return translate(exc.message_key)
    if has_key(exc.message_key):
        try:
            return translate(exc.message_key, **exc.params)
        except (KeyError, IndexError):
            pass
    return translate(f"err.{action}_refused")


def _citizen(code: str, action: str, body: dict[str, Any], field: str) -> dict[str, str]:
    """Forward to the tracker; a refusal becomes a message on the form's field."""
    try:
        citizen_action(deps().settings, code, action, body)
    except DomainError as exc:
        return {field: refusal_message(exc, action)}
    return {}


def _citizen_form(code: str, action: str, read: Callable[..., Any], field: str,
                  kept: dict[str, int], notice: str) -> Response | tuple[str, int]:
    """A rating or reopen form: checked here, then forwarded to the tracker; on an error the
    tracking page comes back with the message next to the field and what was typed."""
    key = _held_key(_report(code))
    if key is None:
        return _render_track(code, errors={"key": translate("err.citizen_key_needed")},
                             status=403)
    body, errors = read(request.form, key)
    if body is not None:
        errors = _citizen(code, action, body, field)
    if errors:
        values = {name: pages.form_text(name, limit) for name, limit in kept.items()}
        return _render_track(code, errors=errors, values=values, status=422)
    flash(translate(notice))
    session["citizen_done"] = code
    return redirect(url_for(".track", code=code), 303)


@routes.post("/track/<code>/rating")
def rate(code: str) -> Response | tuple[str, int]:
    return _citizen_form(code, "rating", forms.read_rating, "score",
                         {"score": 2, "comment": 10_000}, "notice.rated")


@routes.post("/track/<code>/reopen")
def reopen(code: str) -> Response | tuple[str, int]:
    return _citizen_form(code, "reopen", forms.read_reopen, "reason", {"reason": 10_000},
                         "notice.reopened")


@routes.get("/track/<code>/answer/<token>")
def answer_link(code: str, token: str) -> Response | tuple[str, int]:
    """The link in the "information needed" message: this browser may answer (and rate,
    reopen) without typing the key. A link for another report, or forged, is refused."""
    d = deps()
    doc = _report(code)
    if report_of_answer_token(d.settings.secret_key, token) != str(doc["_id"]):
        return _render_track(code, errors={"key": translate("err.citizen_key_needed")},
                             status=403)
    key = citizen_keys.stored_key(doc, d.cipher)
    if key:
        _remember_key(code, key)
    return redirect(url_for(".track", code=code) + "#reply-form", 303)


@routes.post("/track/<code>/reply")
def reply(code: str) -> Response | tuple[str, int]:
    """The citizen's answer to the handler's question, with photos (multipart)."""
    d = deps()
    doc = _report(code)
    if _held_key(doc) is None:
        return _render_track(code, errors={"key": translate("err.citizen_key_needed")},
                             status=403)
    errors: dict[str, str] = {}
    photos = forms.read_photos(request.files, d.settings.max_photo_bytes, errors)
    text = (request.form.get("text") or "").strip()[:REPLY_TEXT_MAX]
    if not text and not photos and not errors:
        errors["text"] = translate("err.reply_empty")
    if not errors:
        try:
            citizen_reply(db=d.db, settings=d.settings, report=doc,
                          text=redact_contacts(text) or None, photos=photos, cipher=d.cipher,
                          now=d.clock(), forward=citizen_action)
        except DomainError as exc:
            errors["text"] = refusal_message(exc, "reply")
    if errors:
        if photos and "photos" not in errors:
            errors["photos"] = translate("err.photos_again")
        return _render_track(code, errors=errors, values={"text": text}, status=422)
    flash(translate("notice.replied"))
    session["citizen_done"] = code
    return redirect(url_for(".track", code=code), 303)


def blueprint(settings: Settings) -> Blueprint:
    """The resident pages at /, /submitted/<code> and /track/<code> (one per app)."""
    bp = Blueprint("resident", __name__, template_folder="templates",
                   static_folder="static", static_url_path="/assets/resident")
    bp.before_request(_rate_limit)
    pages.install(bp, settings, cache="no-cache")
    bp.register_error_handler(CsrfError, _csrf_failed)
    bp.register_error_handler(RequestEntityTooLarge, _too_large)
    bp.register_error_handler(404, _not_found)
    routes.register(bp)
    return bp
