"""Staff sessions for the pages: login with user name and password, role checks.

The signed cookie holds only a random session id; the session itself lives in the store
(`staff_sessions`, keyed by the id's digest) and is checked at every request with the
principal looked up in the staff directory. Logout deletes it, so a cookie copied before
logout is refused after it; a disabled or removed user, or one whose password hash changed
in the directory, is out at the next request; `end_sessions` ends all of a user's sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from pymongo.database import Database

from services.tracker.deps import TrackerDeps, deps
from services.tracker.permissions import Action, allowed
from services.tracker.staff import STAFF_ROLES, Principal, Role
from services.tracker.store import STAFF_SESSIONS

F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "staff_session"
HOME = {Role.OPERATOR: "staff.operator", Role.HANDLER: "staff.queue",
        Role.SUPERVISOR: "staff.dashboard", Role.ADMIN: "staff.dashboard"}
__all__ = ["STAFF_ROLES", "current_staff", "end_sessions", "home_url", "log_in", "log_out",
           "requires_staff", "safe_next"]


class RoleForbidden(Exception):
    """Logged in, but the page is for other roles."""


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _stored_principal() -> Principal | None:
    session_id = session.get(SESSION_KEY)
    if not isinstance(session_id, str):
        return None
    return principal_of_session(deps(), session_id)


def current_session_id() -> str | None:
    """The current request's staff session id (for checks made after the request, by a
    long-lived response)."""
    value = session.get(SESSION_KEY)
    return value if isinstance(value, str) else None


def principal_of_session(d: TrackerDeps, session_id: str) -> Principal | None:
    """The principal of a stored, unexpired session whose credential is still the
    directory's; None otherwise (logged out, expired, disabled, password changed)."""
    stored = d.db[STAFF_SESSIONS].find_one({"_id": _digest(session_id)})
    if stored is None or stored["expires_at"].replace(tzinfo=None) <= \
            d.clock().replace(tzinfo=None):
        return None
    staff = d.config.staff
    principal = staff.principal(stored["user"])
    if principal is None or staff.credential(stored["user"]) != stored["credential"]:
        return None
    return principal


def current_staff() -> Principal | None:
    if "staff" in g:
        return g.staff
    principal = _stored_principal()
    if principal is not None and principal.role not in STAFF_ROLES:
        principal = None
    g.staff = principal
    return principal


def _keep_only_lang() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def log_in(principal: Principal) -> None:
    d = deps()
    _keep_only_lang()  # nothing from before the login survives it (session fixation)
    session_id = secrets.token_urlsafe(32)
    now = d.clock()
    d.db[STAFF_SESSIONS].insert_one({
        "_id": _digest(session_id), "user": principal.user,
        "credential": d.config.staff.credential(principal.user),
        "created_at": now, "expires_at": now + current_app.permanent_session_lifetime})
    session[SESSION_KEY] = session_id
    session.permanent = True
    g.staff = principal


def log_out() -> None:
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        deps().db[STAFF_SESSIONS].delete_one({"_id": _digest(session_id)})
    _keep_only_lang()
    g.staff = None


def end_sessions(*, db: Database, user: str) -> int:
    """End every session of `user` (an account disabled or a password changed by an admin)."""
    return db[STAFF_SESSIONS].delete_many({"user": user}).deleted_count


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
