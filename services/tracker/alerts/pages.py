"""The notification centre on every staff page: the unread count in the header, the list,
mark read, and each person's e-mail choice (each alert, hourly digest, none)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, get_flashed_messages, redirect, request, url_for

from services.tracker.alerts import store
from services.tracker.deps import deps
from services.tracker.pages.common import render
from services.tracker.pages.session import current_staff, requires_staff
from services.tracker.permissions import Action
from shared.crypto import FieldCipher
from shared.web.i18n import translate
from shared.web.routes import Routes

routes = Routes()

_EMAIL = r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"


def install(bp: Blueprint) -> None:
    @bp.app_context_processor
    def unread() -> dict[str, Any]:
        def count() -> int:
            me = current_staff()
            return store.unread_count(deps().db, me.user) if me else 0
        return {"unread_notifications": count}


@routes.get("/notifications")
@requires_staff(Action.VIEW_NOTIFICATIONS)
def notifications() -> tuple[str, int]:
    d = deps()
    me = current_staff()
    pref = store.preferences(d.db, [me.user]).get(me.user)
    return render("notifications.html", items=store.latest(d.db, me.user),
                  email=store.email_of(pref, FieldCipher(d.settings.pii_keys)) or "",
                  mode=(pref or {}).get("mode", "each"), modes=store.MODES,
                  notices=get_flashed_messages(), errors={})


@routes.post("/notifications/read")
@requires_staff(Action.VIEW_NOTIFICATIONS)
def read() -> Response:
    d = deps()
    target = request.form.get("id") or None
    store.mark_read(d.db, user=current_staff().user, notification_id=target, now=d.clock())
    return redirect(url_for("staff.notifications"), 303)


@routes.post("/notifications/preferences")
@requires_staff(Action.VIEW_NOTIFICATIONS)
def preferences() -> Response | tuple[str, int]:
    import re

    d = deps()
    email = (request.form.get("email") or "").strip()[:254]
    mode = request.form.get("mode") or "each"
    errors = {}
    if email and not re.match(_EMAIL, email):
        errors["email"] = translate("err.invalid")
    if mode not in store.MODES:
        errors["mode"] = translate("err.choice")
    if errors:
        me = current_staff()
        return render("notifications.html", 422, items=store.latest(d.db, me.user),
                      email=email, mode=mode, modes=store.MODES, notices=[], errors=errors)
    store.set_preferences(d.db, user=current_staff().user, email=email or None, mode=mode,
                          cipher=FieldCipher(d.settings.pii_keys), now=d.clock())
    flash(translate("alerts.saved"))
    return redirect(url_for("staff.notifications"), 303)

