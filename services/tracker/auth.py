"""Staff authentication (`Authorization: Bearer <token>`) and the permission table's check
for the API's views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from services.tracker.permissions import Action, allowed, roles_for
from services.tracker.staff import Principal, StaffDirectory
from shared.web.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


def current_principal() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    directory: StaffDirectory = current_app.extensions["tracker"].config.staff
    principal = directory.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise Problem(401, "Unauthorized", "Send a staff token as 'Authorization: Bearer …'.",
                      kind="unauthorized", headers={"WWW-Authenticate": "Bearer"},
                      errors=[{"field": "Authorization", "message": "missing or unknown token"}])
    return principal


def requires(action: Action) -> Callable[[F], F]:
    """The view is the action: the roles come from the permission table."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if not allowed(principal.role, action):
                raise Problem(403, "Forbidden",
                              f"This needs one of the roles: {', '.join(roles_for(action))}.",
                              kind="forbidden")
            g.principal = principal
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate
