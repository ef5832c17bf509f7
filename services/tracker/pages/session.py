"""Staff sessions for the pages: login with user name and password, the principal looked up
in the staff directory at every request (so a removed user is out at once), role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for

from services.tracker.deps import deps
from services.tracker.permissions import Action, allowed
from services.tracker.staff import STAFF_ROLES, Principal, Role

F = TypeVar("F", bound=Callable[..., Any])
USER_KEY = "staff_user"
HOME = {Role.OPERATOR: "staff.operator", Role.HANDLER: "staff.queue",
        Role.SUPERVISOR: "staff.dashboard", Role.ADMIN: "staff.dashboard"}
__all__ = ["STAFF_ROLES", "current_staff", "home_url", "log_in", "log_out",
           "requires_staff", "safe_next"]


class RoleForbidden(Exception):
    """Logged in, but the page is for other roles."""


def current_staff() -> Principal | None:
    if "staff" in g:
        return g.staff
    user = session.get(USER_KEY)
    principal = deps().config.staff.principal(user) if user else None
    if principal is not None and principal.role not in STAFF_ROLES:
        principal = None
    g.staff = principal
    return principal


def log_in(principal: Principal) -> None:
    lang = session.get("lang")
    session.clear()  # nothing from before the login survives it (session fixation)
    if lang:
        session["lang"] = lang
    session[USER_KEY] = principal.user
    session.permanent = True
    g.staff = principal


def log_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def safe_next(target: str | None) -> str | None:
    """Only a path of this site's staff pages (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff/") \
            or target.startswith("//") or "\\" in target:
        return None
    return target


def home_url(principal: Principal) -> str:
    return url_for(HOME[principal.role])


def requires_staff(action: Action) -> Callable[[F], F]:
    """The page needs a logged-in user whose role may do `action` (the permission table);
    others go to the login page."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_staff()
            if principal is None:
                if request.method == "GET":
                    return redirect(url_for("staff.login", next=request.full_path.rstrip("?")))
                return redirect(url_for("staff.login"))
            if not allowed(principal.role, action):
                raise RoleForbidden()
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate
