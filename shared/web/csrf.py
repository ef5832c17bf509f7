"""CSRF protection for the web pages' forms: a random token per session (in Flask's signed
session cookie), sent back by every POST as the `csrf_token` form field or, from the pages'
scripts, the `X-CSRF-Token` header. The session cookie is also SameSite=Lax."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfError(Exception):
    """A POST without the session's token (an old page, or a forged request)."""


def csrf_token() -> str:
    token = session.get(SESSION_KEY)
    if not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def rotate() -> str:
    """A new token, e.g. at login, so a token seen before does not outlive the session."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def check() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER) or request.form.get(FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise CsrfError()


def protect(bp: Blueprint) -> None:
    """Check the token before each of the blueprint's POSTs; give templates `csrf_token()`."""
    bp.before_request(check)

    @bp.context_processor
    def _token() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "csrf_field": FIELD}
