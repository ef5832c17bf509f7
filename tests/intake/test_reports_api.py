"""The JSON reports API: accepted reports, the citizen's status view, photos, channels."""

from __future__ import annotations

import base64
import re
import unicodedata

from services.intake.store import PHOTOS, REPORTS
from tests.helpers import image_bytes
from tests.intake.conftest import valid_report

PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")


def photo(data: bytes, name: str = "a.jpg") -> dict:
    return {"filename": name, "content_base64": base64.b64encode(data).decode()}


def test_accepts_report_and_answers_tracking_code(client, db, settings):
    resp = client.post("/api/v1/reports", json=valid_report())
    assert resp.status_code == 201
    body = resp.get_json()
    assert re.fullmatch(rf"{settings.tracking_prefix}-2026-\d{{6}}", body["tracking_code"])
    assert resp.headers["Location"] == f"/api/v1/reports/{body['tracking_code']}"
    stored = db[REPORTS].find_one({"tracking_code": body["tracking_code"]})
    assert str(stored["_id"]) == body["report_id"]
    assert stored["status"] == "received"


def test_tracking_codes_are_unique_and_rising(client):
    codes = [client.post("/api/v1/reports", json=valid_report()).get_json()["tracking_code"]
             for _ in range(25)]
    numbers = [int(c.rsplit("-", 1)[1]) for c in codes]
    assert numbers == sorted(set(numbers))


def test_description_is_stored_nfc(client, db):
    decomposed = unicodedata.normalize("NFD", "Cống thoát nước bị nghẹt, nước tràn lên đường")
    resp = client.post("/api/v1/reports", json=valid_report(description=decomposed))
    stored = db[REPORTS].find_one({"tracking_code": resp.get_json()["tracking_code"]})
    assert stored["description"] == unicodedata.normalize("NFC", decomposed)
    assert stored["description"] != decomposed


def test_status_view_has_no_personal_data(client):
    created = client.post("/api/v1/reports", json=valid_report()).get_json()
    resp = client.get(f"/api/v1/reports/{created['tracking_code']}")
    assert resp.status_code == 200
    status = resp.get_json()
    assert status["status"] == "received"
    assert status["status_label"] == "Đã tiếp nhận"
    text = resp.get_data(as_text=True)
    for secret in ("Nguyễn Văn An", "0901234567", "901234567", "an@example.vn"):
        assert secret not in text
    assert "description" not in status


def test_unknown_tracking_code_is_404_problem(client):
    resp = client.get("/api/v1/reports/HCM-2026-999999")
    assert resp.status_code == 404
    assert resp.content_type == "application/problem+json"


def test_anonymous_report_is_allowed(client, db):
    body = {"channel": "app", "description": "Đèn giao thông ngã tư Hàng Xanh bị tắt từ sáng."}
    resp = client.post("/api/v1/reports", json=body)
    assert resp.status_code == 201
    stored = db[REPORTS].find_one({"tracking_code": resp.get_json()["tracking_code"]})
    assert stored["pii"] == {} and stored["has_contact"] is False


def test_call_center_needs_staff_key_and_call_details(client, db):
    body = valid_report(channel="call_center", call={
        "operator_id": "op-7", "call_id": "c-123", "caller_phone": "+84 912 345 678"})
    assert client.post("/api/v1/reports", json=body).status_code == 401
    resp = client.post("/api/v1/reports", json=body, headers={"X-API-Key": "demo-operator"})
    assert resp.status_code == 201
    stored = db[REPORTS].find_one({"tracking_code": resp.get_json()["tracking_code"]})
    assert stored["call"] == {"operator_id": "op-7", "call_id": "c-123"}
    assert "caller_phone" in stored["pii"]
    missing = client.post("/api/v1/reports", json=valid_report(channel="call_center"),
                          headers={"X-API-Key": "demo-operator"})
    assert missing.status_code == 422


def test_photos_are_typed_from_content(client, db):
    resp = client.post("/api/v1/reports", json=valid_report(
        photos=[photo(PNG, "x.jpg"), photo(JPEG, "y.png")]))
    assert resp.status_code == 201
    report = db[REPORTS].find_one({"tracking_code": resp.get_json()["tracking_code"]})
    kinds = [db[PHOTOS].find_one({"_id": pid})["content_type"] for pid in report["photo_ids"]]
    assert kinds == ["image/png", "image/jpeg"]


def test_photo_errors_name_the_photo(client, db):
    cases = [
        ([photo(b"GIF89a" + b"\x00" * 20)], "photos.0.content_base64"),
        ([photo(PNG), photo(b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024))],
         "photos.1.content_base64"),
        ([{"content_base64": "not base64!!"}], "photos.0.content_base64"),
        ([photo(PNG)] * 4, "photos"),
    ]
    for photos, field in cases:
        resp = client.post("/api/v1/reports", json=valid_report(photos=photos))
        assert resp.status_code == 422, field
        assert field in [e["field"] for e in resp.get_json()["errors"]]
    assert db[REPORTS].count_documents({}) == 0
    assert db[PHOTOS].count_documents({}) == 0
