"""Staff login attacks: user enumeration by timing, a burst of concurrent guesses racing the
throttle, and a guesser behind the ingress locking the real user out."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from werkzeug.security import generate_password_hash

from services.tracker import staff as staff_module
from services.tracker.app import create_app
from services.tracker.config import TrackerConfig
from services.tracker.pages import login_throttle
from services.tracker.staff import StaffDirectory, directory_from_rows
from shared.settings import Settings
from tests.web.conftest import PASSWORD, USERS, csrf_of

HANDLER = USERS["handler"]


def test_unknown_user_is_checked_against_a_dummy_hash_like_a_known_one(monkeypatch):
    method = "pbkdf2:sha256:1000"
    directory = directory_from_rows([{"user": "lan", "role": "operator",
                                      "password_hash": generate_password_hash("x", method)}])
    checked: list[str] = []
    real = staff_module.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(staff_module, "check_password_hash", spy)
    assert directory.login("lan", "wrong") is None
    assert directory.login("no-such-user", "wrong") is None
    assert checked == [method, method]  # the same work, with the same hash parameters


def _attempt(app, password: str, *, address: str, forwarded: str | None = None,
             user: str = HANDLER):
    client = app.test_client()
    environ = {"REMOTE_ADDR": address}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    token = csrf_of(client.get("/staff/login", environ_base=environ, headers=headers)
                    .get_data(as_text=True))
    return client.post("/staff/login", data={"csrf_token": token, "user": user,
                                             "password": password},
                       environ_base=environ, headers=headers)


def test_twenty_concurrent_wrong_passwords_from_one_address_try_at_most_five(
        tracker_app, config: TrackerConfig, monkeypatch):
    tried: list[str] = []
    real_login = StaffDirectory.login
    started = threading.Barrier(20)

    def slow_login(self, user: str, password: str):
        tried.append(user)
        threading.Event().wait(0.3)  # a real scrypt check takes about this long
        return real_login(self, user, password)

    monkeypatch.setattr(StaffDirectory, "login", slow_login)
    codes: list[int] = []

    def guess() -> None:
        started.wait()
        codes.append(_attempt(tracker_app, "sai-mat-khau", address="203.0.113.20").status_code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tried) <= login_throttle.PER_ADDRESS
    assert sorted(codes).count(429) >= 20 - login_throttle.PER_ADDRESS


@pytest.fixture
def proxied_tracker(env, db, clock, config):
    return create_app(Settings.from_env({**env, "PROXY_HOPS": "1"}), clock=clock,
                      config=config)


def test_guesser_behind_the_ingress_does_not_lock_out_the_real_user(proxied_tracker):
    proxy = "10.0.0.2"
    for _ in range(login_throttle.PER_ADDRESS):
        assert _attempt(proxied_tracker, "sai", address=proxy,
                        forwarded="203.0.113.66").status_code == 422
    assert _attempt(proxied_tracker, PASSWORD, address=proxy,
                    forwarded="203.0.113.66").status_code == 429
    assert _attempt(proxied_tracker, PASSWORD, address=proxy,
                    forwarded="198.51.100.8").status_code == 303


def test_disabled_rows_cannot_log_in(config):
    rows = [{"user": "lan", "role": "operator", "disabled": True,
             "password_hash": generate_password_hash("pw", "pbkdf2:sha256:1000")}]
    directory = directory_from_rows(rows)
    assert directory.login("lan", "pw") is None
    assert replace(config, staff=directory).staff.principal("lan") is None
