"""Every bad input answers 4xx problem details naming the field, and writes nothing."""

from __future__ import annotations

import json

import pytest

from services.intake.store import PHOTOS, REPORTS
from tests.intake.conftest import valid_report

INJECTION = {"$gt": ""}


def with_reporter(**fields):
    return valid_report(reporter={"name": "An", **fields})


JSON_CASES = [
    # (case id, body, expected status, field at fault)
    ("missing description", {"channel": "web"}, 422, "description"),
    ("missing channel", {"description": "Đường bị ngập sâu sau mưa"}, 422, "channel"),
    ("unknown channel", valid_report(channel="fax"), 422, "channel"),
    ("description too short", valid_report(description="ngập"), 422, "description"),
    ("description too long", valid_report(description="ngập " * 1000), 422, "description"),
    ("description only spaces", valid_report(description=" " * 30), 422, "description"),
    ("description wrong type", valid_report(description=123456789012), 422, "description"),
    ("description injection", valid_report(description=INJECTION), 422, "description"),
    ("channel injection", valid_report(channel=INJECTION), 422, "channel"),
    ("district injection", valid_report(district=INJECTION), 422, "district"),
    ("category injection", valid_report(category_hint={"$ne": None}), 422, "category_hint"),
    ("address injection", valid_report(address={"$where": "1"}), 422, "address"),
    ("reporter injection", valid_report(reporter=INJECTION), 422, "reporter.$gt"),
    ("phone injection", with_reporter(phone=INJECTION), 422, "reporter.phone"),
    ("operator key at top", {**valid_report(), "$set": {"status": "closed"}}, 422, "$set"),
    ("unknown field", {**valid_report(), "status": "closed"}, 422, "status"),
    ("unknown district", valid_report(district="q2"), 422, "district"),
    ("unknown category", valid_report(category_hint="weather"), 422, "category_hint"),
    ("invalid phone letters", with_reporter(phone="call me maybe"), 422, "reporter.phone"),
    ("invalid phone short", with_reporter(phone="0901"), 422, "reporter.phone"),
    ("invalid phone foreign", with_reporter(phone="+1 415 555 0100"), 422, "reporter.phone"),
    ("invalid email", with_reporter(email="not-an-email"), 422, "reporter.email"),
    ("lat out of range", valid_report(lat=123.0, long=106.7), 422, "lat"),
    ("long out of range", valid_report(lat=10.7, long=-500.0), 422, "long"),
    ("lat without long", valid_report(lat=10.77), 422, "body"),
    ("outside the city", valid_report(lat=21.03, long=105.85), 422, "body"),
    ("lat as string", valid_report(lat="10.7", long=106.7), 422, "lat"),
    ("too many photos", valid_report(photos=[{"content_base64": "AAAA"}] * 4), 422, "photos"),
    ("body is a list", [valid_report()], 422, "body"),
    ("body is a string", "ngập nước", 422, "body"),
    ("name too long", with_reporter(name="A" * 500), 422, "reporter.name"),
    ("call on web channel", valid_report(call={"operator_id": "o", "call_id": "c",
                                                "caller_phone": "0901234567"}), 422, "body"),
]


@pytest.mark.parametrize("body,status,field", [c[1:] for c in JSON_CASES],
                         ids=[c[0] for c in JSON_CASES])
def test_json_body_errors(client, db, body, status, field):
    resp = client.post("/api/v1/reports", data=json.dumps(body),
                       content_type="application/json")
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"
    problem = resp.get_json()
    assert problem["status"] == status
    assert field in [e["field"] for e in problem["errors"]], problem
    assert db[REPORTS].count_documents({}) == 0


RAW_CASES = [
    ("malformed JSON", b'{"channel": "web", "description": ', "application/json", 400, "body"),
    ("NaN literal", b'{"channel": "web", "description": "duong ngap qua", "lat": NaN}',
     "application/json", 400, "body"),
    ("non UTF-8 bytes", b'{"channel": "web", "description": "\xff\xfe ngap nuoc qua"}',
     "application/json", 400, "body"),
    ("form instead of JSON", b"channel=web&description=ngap+nuoc+qua",
     "application/x-www-form-urlencoded", 415, "Content-Type"),
    ("text/plain", b'{"channel": "web"}', "text/plain", 415, "Content-Type"),
]


@pytest.mark.parametrize("raw,ctype,status,field", [c[1:] for c in RAW_CASES],
                         ids=[c[0] for c in RAW_CASES])
def test_raw_body_errors(client, db, raw, ctype, status, field):
    resp = client.post("/api/v1/reports", data=raw, content_type=ctype)
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"
    assert field in [e["field"] for e in resp.get_json()["errors"]]
    assert db[REPORTS].count_documents({}) == 0


def test_oversized_body_is_413(client, db, settings):
    raw = b'{"channel": "web", "description": "' + b"a" * settings.max_json_body_bytes + b'"}'
    resp = client.post("/api/v1/reports", data=raw, content_type="application/json")
    assert resp.status_code == 413
    assert resp.content_type == "application/problem+json"
    assert db[REPORTS].count_documents({}) == 0 and db[PHOTOS].count_documents({}) == 0


def test_bad_idempotency_key_header(client, db):
    resp = client.post("/api/v1/reports", json=valid_report(),
                       headers={"Idempotency-Key": "x" * 300})
    assert resp.status_code == 400
    assert resp.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert db[REPORTS].count_documents({}) == 0


def test_malformed_tracking_code(client):
    resp = client.get("/api/v1/reports/'; DROP TABLE")
    assert resp.status_code == 400
    assert resp.get_json()["errors"][0]["field"] == "tracking_code"


def test_unknown_route_and_method_are_problems(client):
    assert client.get("/nope").content_type == "application/problem+json"
    resp = client.delete("/api/v1/reports")
    assert resp.status_code == 405 and resp.content_type == "application/problem+json"


OPEN311_CASES = [
    ("no api key", {"description": "Ngập nước đường Lê Lợi", "address_string": "1 Lê Lợi"},
     400, "api_key"),
    ("wrong api key", {"api_key": "nope", "description": "Ngập nước đường Lê Lợi",
                       "address_string": "1 Lê Lợi"}, 401, "api_key"),
    ("no location", {"api_key": "demo", "description": "Ngập nước đường Lê Lợi"}, 400, "body"),
    ("bad service code", {"api_key": "demo", "service_code": "weather",
                          "description": "Ngập nước đường Lê Lợi", "lat": "10.77",
                          "long": "106.7"}, 400, "service_code"),
    ("lat not a number", {"api_key": "demo", "description": "Ngập nước đường Lê Lợi",
                          "lat": "north", "long": "106.7"}, 400, "lat"),
    ("bad phone", {"api_key": "demo", "description": "Ngập nước đường Lê Lợi",
                   "address_string": "1 Lê Lợi", "phone": "12"}, 400, "phone"),
    ("injection-style key", {"api_key": "demo", "description": "Ngập nước đường Lê Lợi",
                             "address_string": "x", "description[$gt]": ""}, 400,
     "description[$gt]"),
]


@pytest.mark.parametrize("form,status,field", [c[1:] for c in OPEN311_CASES],
                         ids=[c[0] for c in OPEN311_CASES])
def test_open311_post_errors(client, db, form, status, field):
    for fmt in ("json", "xml"):
        resp = client.post(f"/open311/v2/requests.{fmt}", data=form)
        assert resp.status_code == status
        if fmt == "json":
            assert resp.content_type == "application/problem+json"
            assert field in [e["field"] for e in resp.get_json()["errors"]]
        else:
            assert resp.content_type.startswith("application/problem+xml")
            assert f"<field>{field}</field>" in resp.get_data(as_text=True)
    assert db[REPORTS].count_documents({}) == 0


def test_open311_json_body_is_415(client):
    resp = client.post("/open311/v2/requests.json", json={"api_key": "demo"})
    assert resp.status_code == 415


def test_open311_bad_dates_and_formats(client):
    assert client.get("/open311/v2/requests.json?start_date=yesterday").status_code == 422
    resp = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z"
                      "&end_date=2026-06-01T00:00:00Z")
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "end_date"
    assert client.get("/open311/v2/requests.json?status=pending").status_code == 400
    # found by schemathesis: a date at the start of the calendar overflowed the 90-day window
    early = client.get("/open311/v2/requests.json?end_date=0001-01-01T00:51:35.208Z")
    assert early.status_code == 422 and early.get_json()["errors"][0]["field"] == "end_date"
    assert client.get("/open311/v2/services.csv").status_code == 404
