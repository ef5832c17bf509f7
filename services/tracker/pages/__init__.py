"""Server-rendered pages for staff under /staff: login, the operator's console and triage
queue, the handler's queue and ticket pages, the supervisor's dashboard."""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import NotFound

from services.tracker.pages import (
    views_auth,
    views_handler,
    views_operator,
    views_supervisor,
)
from services.tracker.pages.common import on_csrf, on_domain_error, on_forbidden, on_not_found
from services.tracker.pages.figures import FiguresCache
from services.tracker.pages.session import RoleForbidden
from shared.errors import DomainError
from shared.settings import Settings
from shared.web import pages
from shared.web.csrf import CsrfError


def blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates",
                   static_folder="static", static_url_path="/assets")
    pages.install(bp, settings)
    bp.register_error_handler(CsrfError, on_csrf)
    bp.register_error_handler(RoleForbidden, on_forbidden)
    bp.register_error_handler(DomainError, on_domain_error)
    bp.register_error_handler(NotFound, on_not_found)
    for module in (views_auth, views_operator, views_handler, views_supervisor,
                   *extensions()):
        module.routes.register(bp)
        if hasattr(module, "install"):
            module.install(bp)
    bp.record_once(_setup)
    return bp


def extensions() -> tuple:
    """Page modules of the staff helpdesk (owners, search, alerts, templates, live)."""
    from services.tracker.alerts import pages as alerts
    from services.tracker.answers import pages as answers
    from services.tracker.live import pages as live
    from services.tracker.owners import pages as owners
    from services.tracker.search import pages as search

    return (owners, search, answers, alerts, live)


def _setup(state: BlueprintSetupState) -> None:
    state.app.extensions["staff_pages_figures"] = FiguresCache()


__all__ = ["blueprint"]
