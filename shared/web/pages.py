"""What the server-rendered pages of intake (residents) and the tracker (staff) share:
signed session cookies, security headers, the CSRF check, the language (Flask-Babel) and the
date and number filters (`shared.web.i18n`)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from shared.settings import Settings
from shared.web import csrf, i18n

# Pages load their own CSS and scripts only: nothing from another origin, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SignedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, without building a signer for requests that carry no
    cookie (every API call): they get an empty session, as Flask would give them."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def configure_sessions(app: Flask, settings: Settings, *, service: str,
                       lifetime: timedelta = timedelta(hours=12)) -> None:
    """Flask's signed cookie session, one cookie name and one derived key per service (two
    services on one host share cookies across ports)."""
    app.session_interface = SignedCookieSessions()
    app.secret_key = hmac.new(settings.secret_key.encode("utf-8"),
                              f"1022-session:{service}".encode(), hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME=f"{service}_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=lifetime,
    )


def install(bp: Blueprint, settings: Settings, *, cache: str = "no-store") -> None:
    """Language, CSRF, headers and filters for every page of the blueprint."""
    i18n.install(bp, timezone=settings.timezone)
    csrf.protect(bp)

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")  # codes are in URLs
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", cache)
            response.vary.add("Cookie")
            response.vary.add("Accept-Language")
        return response


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def form_text(name: str, limit: int = 10_000) -> str:
    """A form field as typed (kept to re-render the form), bounded."""
    return (request.form.get(name) or "")[:limit]


def fields(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: form_text(name) for name in names}
