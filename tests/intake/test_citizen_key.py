"""Rating and reopening take the citizen's key, handed out once with the tracking code:
a guessed tracking code shows a report's public status, but cannot rate or reopen it."""

from __future__ import annotations

import dataclasses
import re

import pytest
from flask.testing import FlaskClient

from services.intake import citizen_keys
from services.intake.app import create_app
from services.intake.keys import rotate_pii
from services.intake.store import REPORTS
from shared.crypto import FieldCipher
from shared.devstack import free_port
from tests.intake.conftest import valid_report
from tests.web.conftest import csrf_of
from tests.web.forms import field_errors
from tests.web.test_resident_form_errors import VALID, post_report

KEY_SHAPE = re.compile(f"^[{citizen_keys.ALPHABET}]{{{citizen_keys.LENGTH}}}$")


@pytest.fixture
def offline(settings, clock, db) -> FlaskClient:
    """Intake with no tracker behind it: an action that passes the key check answers 503."""
    dead = dataclasses.replace(settings, tracker_url=f"http://127.0.0.1:{free_port()}")
    return create_app(dead, clock=clock).test_client()


def resolve(db, code: str, clock) -> None:
    db[REPORTS].update_one({"tracking_code": code},
                           {"$set": {"status": "resolved", "resolved_at": clock()}})


def test_the_key_is_given_once_stored_encrypted_and_replayed(offline, db, settings):
    headers = {"Idempotency-Key": "key-test-1"}
    first = offline.post("/api/v1/reports", json=valid_report(), headers=headers).get_json()
    again = offline.post("/api/v1/reports", json=valid_report(), headers=headers).get_json()
    other = offline.post("/api/v1/reports", json=valid_report()).get_json()
    assert KEY_SHAPE.match(first["citizen_key"]) and KEY_SHAPE.match(other["citizen_key"])
    assert again["citizen_key"] == first["citizen_key"] != other["citizen_key"]
    raw = db[REPORTS].find_one({"tracking_code": first["tracking_code"]})
    assert first["citizen_key"] not in str(raw)
    assert FieldCipher(settings.pii_keys).decrypt(raw["citizen_key"]) == first["citizen_key"]
    status = offline.get(f"/api/v1/reports/{first['tracking_code']}").get_data(as_text=True)
    assert first["citizen_key"] not in status and "citizen_key" not in status


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"score": 4}, 422, "citizen_key"),
    ({"score": 4, "citizen_key": "AAAAAAAA"}, 403, "citizen_key"),
    ({"score": 4, "citizen_key": ""}, 422, "citizen_key"),
])
def test_rating_without_the_right_key_is_refused_before_the_tracker(offline, db, clock,
                                                                     body, status, field):
    code = offline.post("/api/v1/reports", json=valid_report()).get_json()["tracking_code"]
    resolve(db, code, clock)
    answer = offline.post(f"/api/v1/reports/{code}/rating", json=body)
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["errors"][0]["field"] == field
    reopen = offline.post(f"/api/v1/reports/{code}/reopen",
                          json={**{k: v for k, v in body.items() if k != "score"},
                                "reason": "Vẫn còn ngập nước"})
    assert reopen.status_code == status


def test_the_key_is_accepted_as_people_type_it(offline, db, clock):
    created = offline.post("/api/v1/reports", json=valid_report()).get_json()
    code, key = created["tracking_code"], created["citizen_key"]
    resolve(db, code, clock)
    typed = f" {key[:4].lower()}-{key[4:]} "
    answer = offline.post(f"/api/v1/reports/{code}/rating",
                          json={"score": 4, "citizen_key": typed})
    assert answer.status_code == 503  # past the key check, on to the (absent) tracker
    unknown = offline.post("/api/v1/reports/HCM-2026-999999/rating",
                           json={"score": 4, "citizen_key": key})
    assert unknown.status_code == 404


def test_another_browser_needs_the_key_to_rate(settings, clock, db, offline):
    filer = create_app(settings, clock=clock).test_client()
    assert post_report(filer, VALID).status_code == 303
    code = db[REPORTS].find_one({})["tracking_code"]
    confirmation = filer.get(f"/submitted/{code}").get_data(as_text=True)
    key = re.search(r'id="citizen-key">([A-Z0-9]+)<', confirmation).group(1)
    resolve(db, code, clock)
    assert f'action="/track/{code}/rating"' in filer.get(f"/track/{code}").get_data(as_text=True)

    stranger = offline  # a browser that never filed this report
    assert key not in stranger.get(f"/submitted/{code}").get_data(as_text=True)
    page = stranger.get(f"/track/{code}").get_data(as_text=True)
    assert "/rating" not in page and f'action="/track/{code}/key"' in page
    token = csrf_of(page)
    refused = stranger.post(f"/track/{code}/rating", data={"score": "1", "csrf_token": token})
    assert refused.status_code == 403
    assert "mã bí mật" in field_errors(refused.get_data(as_text=True))["key"]
    wrong = stranger.post(f"/track/{code}/key", data={"key": "AAAA-BBBB", "csrf_token": token})
    assert wrong.status_code == 403
    assert "không đúng" in field_errors(wrong.get_data(as_text=True))["key"]
    assert stranger.get(f"/track/{code}?key={key}").get_data(as_text=True).count(
        "/rating") == 0  # a key in the address is not taken: it would end up in logs

    typed = f"{key[:4].lower()} {key[4:]}"
    opened = stranger.post(f"/track/{code}/key", data={"key": typed, "csrf_token": token})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/track/{code}")
    page = stranger.get(f"/track/{code}").get_data(as_text=True)
    assert f'action="/track/{code}/key"' not in page
    rated = stranger.post(f"/track/{code}/rating",
                          data={"score": "1", "csrf_token": csrf_of(page)})
    assert rated.status_code == 422  # accepted here, refused by the absent tracker
    assert "thử lại" in field_errors(rated.get_data(as_text=True))["score"]


def test_rotation_re_encrypts_the_keys(offline, db, settings):
    created = [offline.post("/api/v1/reports", json=valid_report()).get_json()
               for _ in range(3)]
    new_key = FieldCipher.generate_key()
    assert rotate_pii(db=db, cipher=FieldCipher([new_key, *settings.pii_keys])) == 3
    only_new = FieldCipher([new_key])
    for answer in created:
        doc = db[REPORTS].find_one({"tracking_code": answer["tracking_code"]})
        assert citizen_keys.matches(doc, answer["citizen_key"], only_new)


def test_open311_gives_the_key_to_the_poster_only(offline, db):
    posted = offline.post("/open311/v2/requests.json", data={
        "api_key": "demo", "service_code": "flooding", "lat": "10.78", "long": "106.69",
        "description": "Nước ngập sâu trước số 12 Nguyễn Huệ sau cơn mưa chiều."})
    assert posted.status_code == 201
    item = posted.get_json()[0]
    doc = db[REPORTS].find_one({"tracking_code": item["service_request_id"]})
    key = citizen_keys.stored_key(doc, FieldCipher(offline.application.extensions[
        "intake"].settings.pii_keys))
    assert key and key in item["service_notice"]
    listing = offline.get(f"/open311/v2/requests/{item['service_request_id']}.json")
    assert key not in listing.get_data(as_text=True)
