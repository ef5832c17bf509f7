"""Rendering helpers every staff page uses."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from werkzeug.exceptions import HTTPException

from services.tracker.deps import deps
from services.tracker.pages.session import RoleForbidden, current_staff
from shared.errors import DomainError
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
from shared.web.csrf import CsrfError
from shared.web.i18n import has_key, translate
from shared.web.numbers import plain_int


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(f"staff/{template}", me=current_staff(),
                           categories=CATEGORY_CODES, districts=DISTRICT_CODES,
                           **context), status


WINDOWS = (7, 30, 90)  # the figures' windows a page offers, in days


def window_days() -> int:
    """?days= of a figures page: one of WINDOWS, 30 otherwise."""
    days = plain_int(request.args.get("days", "30"), 1, max(WINDOWS))
    return days if days in WINDOWS else 30


def page_number(most: int = 10_000) -> int:
    """?page= of a paged list: 1 unless it is a plain number from 1 to `most`."""
    return plain_int(request.args.get("page", "1"), 1, most) or 1


def departments() -> list[str]:
    """Departments a ticket can be routed to, the named ones first."""
    routing = deps().config.routing
    named = list(routing.names)
    return named + sorted(set(routing.departments()) - set(named))


def error_page(status: int, message_key: str) -> Response:
    body, _ = render("error.html", message=translate(message_key), status=status)
    return Response(body, status, mimetype="text/html")


def on_domain_error(exc: DomainError) -> Response:
    """A refusal no form caught: the error page, in the page's language, by its code."""
    return error_page(exc.status, exc.message_key if has_key(exc.message_key)
                      else "error.forbidden")


def on_csrf(_: CsrfError) -> Response:
    return error_page(400, "error.csrf")


def on_forbidden(_: RoleForbidden) -> Response:
    return error_page(403, "error.forbidden")


def on_not_found(_: HTTPException) -> Response:
    return error_page(404, "error.not_found")
