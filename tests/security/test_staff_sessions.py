"""A staff cookie copied before logout, before a password change or before the account was
disabled opens nothing afterwards: sessions live in the store and are checked per request."""

from __future__ import annotations

from dataclasses import replace

from werkzeug.security import generate_password_hash

from services.tracker.app import create_app
from services.tracker.pages.session import end_sessions
from services.tracker.staff import directory_from_rows
from tests.web.conftest import csrf_of, login

COOKIE = "staff_session"
METHOD = "pbkdf2:sha256:1000"  # cheap for the test; production rows use scrypt


def _copy(app, client):
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def _opens_dashboard(client) -> bool:
    return client.get("/staff/dashboard").status_code == 200


def test_cookie_copied_before_logout_is_refused_after_it(tracker_app):
    client = tracker_app.test_client()
    csrf_token = login(client, "supervisor")
    thief = _copy(tracker_app, client)
    assert _opens_dashboard(thief)
    client.post("/staff/logout", data={"csrf_token": csrf_token})
    assert not _opens_dashboard(thief)
    assert thief.get("/staff/dashboard").headers["Location"].startswith("/staff/login")


def _rows(password: str, **extra) -> list[dict]:
    return [{"user": "giamsat", "role": "supervisor",
             "password_hash": generate_password_hash(password, METHOD), **extra}]


def _app(settings, clock, config, rows):
    return create_app(settings, clock=clock, config=replace(config,
                                                            staff=directory_from_rows(rows)))


def _logged_in(app, password: str):
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    answer = client.post("/staff/login", data={"csrf_token": csrf_of(page), "user": "giamsat",
                                               "password": password})
    assert answer.status_code == 303
    return client


def test_cookie_from_before_a_password_change_is_refused(settings, clock, config, db):
    before = _app(settings, clock, config, _rows("cu-mat-khau"))
    client = _logged_in(before, "cu-mat-khau")
    assert _opens_dashboard(client)
    after = _app(settings, clock, config, _rows("mat-khau-moi"))  # the directory was updated
    assert not _opens_dashboard(_copy(after, client))


def test_cookie_of_a_disabled_account_is_refused(settings, clock, config, db):
    client = _logged_in(_app(settings, clock, config, _rows("pw")), "pw")
    disabled = _app(settings, clock, config, _rows("pw", disabled=True))
    assert not _opens_dashboard(_copy(disabled, client))


def test_ending_a_users_sessions_refuses_their_cookies(settings, clock, config, db):
    app = _app(settings, clock, config, _rows("pw"))
    client = _logged_in(app, "pw")
    assert end_sessions(db=db, user="giamsat") == 1
    assert not _opens_dashboard(client)
