"""Login and logout for the staff pages."""

from __future__ import annotations

from flask import Response, redirect, request, url_for

from services.tracker.deps import deps
from services.tracker.pages import login_throttle
from services.tracker.pages import session as staff_session
from services.tracker.pages.common import render
from services.tracker.pages.forms import text
from shared.web import csrf
from shared.web.i18n import translate
from shared.web.routes import Routes

routes = Routes()


@routes.get("/")
def index() -> Response:
    principal = staff_session.current_staff()
    if principal is None:
        return redirect(url_for("staff.login"))
    return redirect(staff_session.home_url(principal))


@routes.get("/login")
def login_form() -> Response | tuple[str, int]:
    principal = staff_session.current_staff()
    if principal is not None:
        return redirect(staff_session.home_url(principal))
    return render("login.html", values={"user": ""}, errors={},
                  next=staff_session.safe_next(request.args.get("next")) or "")


@routes.post("/login")
def login() -> Response | tuple[str, int]:
    user = text(request.form, "user", 100).strip()
    password = text(request.form, "password", 200)
    target = staff_session.safe_next(request.form.get("next"))
    errors: dict[str, str] = {}
    if not user:
        errors["user"] = translate("err.required")
    if not password:
        errors["password"] = translate("err.required")
    principal = None
    d = deps()
    address, now = request.remote_addr or "-", d.clock()
    if not errors:
        # counted before the password is checked: concurrent guesses cannot pass the limit
        until = login_throttle.begin_attempt(db=d.db, user=user, address=address, now=now)
        if until is not None:
            minutes = max(1, int((until - now).total_seconds() + 59) // 60)
            return render("login.html", 429, values={"user": user}, next=target or "",
                          errors={"password": translate("err.login_throttled",
                                                        minutes=minutes)})
        principal = d.config.staff.login(user, password)
        if principal is None or principal.role not in staff_session.STAFF_ROLES:
            errors["password"] = translate("err.login_failed")
    if errors or principal is None:
        return render("login.html", 422, values={"user": user}, errors=errors,
                      next=target or "")
    login_throttle.succeeded(db=d.db, user=user, address=address)
    staff_session.log_in(principal)
    csrf.rotate()
    return redirect(target or staff_session.home_url(principal), 303)


@routes.post("/logout")
def logout() -> Response:
    staff_session.log_out()
    return redirect(url_for("staff.login"), 303)
