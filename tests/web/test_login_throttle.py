"""Failed staff logins: five for one name from one address refuse that pair for the rest of
15 minutes; fifty for one name from anywhere refuse the name. The right password does not
get through a refusal, and other addresses are not locked out by one guesser."""

from __future__ import annotations

from flask.testing import FlaskClient

from services.tracker.pages import login_throttle
from tests.web.conftest import PASSWORD, USERS, csrf_of
from tests.web.forms import field_errors

HANDLER = USERS["handler"]


def attempt(client: FlaskClient, password: str, address: str, user: str = HANDLER):
    token = csrf_of(client.get("/staff/login", environ_base={"REMOTE_ADDR": address})
                    .get_data(as_text=True))
    return client.post("/staff/login", data={"csrf_token": token, "user": user,
                                             "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_five_failures_refuse_the_pair_for_the_window(tracker_app, clock):
    guesser = tracker_app.test_client()
    for _ in range(login_throttle.PER_ADDRESS):
        assert attempt(guesser, "sai-mat-khau", "203.0.113.9").status_code == 422
    refused = attempt(guesser, PASSWORD, "203.0.113.9")
    assert refused.status_code == 429
    assert "thử lại sau 15 phút" in field_errors(refused.get_data(as_text=True))["password"]
    clock.advance(minutes=10)
    assert attempt(guesser, PASSWORD, "203.0.113.9").status_code == 429
    # the real user, elsewhere, is not locked out by the guesser
    assert attempt(tracker_app.test_client(), PASSWORD, "198.51.100.7").status_code == 303
    clock.advance(minutes=5)
    assert attempt(tracker_app.test_client(), PASSWORD, "203.0.113.9").status_code == 303


def test_a_success_clears_the_pair(tracker_app):
    client = tracker_app.test_client()
    for _ in range(login_throttle.PER_ADDRESS - 1):
        attempt(client, "sai-mat-khau", "203.0.113.10")
    assert attempt(client, PASSWORD, "203.0.113.10").status_code == 303
    other = tracker_app.test_client()
    for _ in range(login_throttle.PER_ADDRESS - 1):
        assert attempt(other, "sai", "203.0.113.10").status_code == 422
    assert attempt(other, PASSWORD, "203.0.113.10").status_code == 303


def test_many_addresses_refuse_the_name(tracker_app, db, clock):
    for i in range(login_throttle.PER_USER):
        login_throttle.record_failure(db=db, user=HANDLER.upper(), address=f"10.0.{i}.1",
                                      now=clock())
    assert attempt(tracker_app.test_client(), PASSWORD, "192.0.2.44").status_code == 429
    assert attempt(tracker_app.test_client(), PASSWORD, "192.0.2.44",
                   user=USERS["supervisor"]).status_code == 303
