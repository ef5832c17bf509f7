"""Bad input in each of the resident's forms: a clear message next to the field, in
Vietnamese, and everything typed comes back in the form."""

from __future__ import annotations

import base64
import dataclasses
import io

import pytest

from services.intake.app import create_app as create_intake
from shared.devstack import free_port
from tests.web.conftest import csrf_of
from tests.web.forms import field_errors, form_values

VALID = {"description": "Rác thải chất đống ở đầu hẻm 45 Lê Văn Sỹ mấy ngày nay không ai thu gom.",
         "category": "environment", "district": "q3", "address": "Hẻm 45 Lê Văn Sỹ",
         "lat": "10.7901", "long": "106.6789", "name": "Lê Thị Hoa", "phone": "0901 234 567",
         "email": "hoa@example.vn"}
TEXT_FIELDS = ("description", "address", "lat", "long", "name", "phone", "email")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/"
                       "PchI7wAAAABJRU5ErkJggg==")

REPORT_CASES = [
    # (what is wrong, fields changed, field showing the message, part of the message)
    ("description too short", {"description": "Rác nhiều"}, "description", "ít nhất 10 ký tự"),
    ("description blank", {"description": "    "}, "description", "ít nhất 10 ký tự"),
    ("description too long", {"description": "Rác " * 1001}, "description", "tối đa 4.000"),
    ("phone", {"phone": "12345"}, "phone", "Số điện thoại không hợp lệ"),
    ("foreign phone", {"phone": "+1 415 555 0100"}, "phone", "Số điện thoại không hợp lệ"),
    ("email", {"email": "hoa.example.vn"}, "email", "email không hợp lệ"),
    ("name too long", {"name": "Hoa" * 41}, "name", "Tối đa 120 ký tự"),
    ("address too long", {"address": "x" * 301}, "address", "Tối đa 300 ký tự"),
    ("unknown category", {"category": "weather"}, "category", "chọn một giá trị"),
    ("unknown district", {"district": "q2"}, "district", "chọn một giá trị"),
    ("latitude not a number", {"lat": "mười"}, "lat", "nhập một số"),
    ("longitude alone", {"lat": ""}, "lat", "cả vĩ độ và kinh độ"),
    ("outside the city", {"lat": "21.0285", "long": "105.8542"}, "lat", "ngoài địa bàn"),
]


def post_report(client, data, files=None, lang=None):
    page = client.get("/" + (f"?lang={lang}" if lang else "")).get_data(as_text=True)
    body = {**data, "csrf_token": csrf_of(page), "submission": "s-" + "x" * 20}
    if files:
        body["photos"] = files
    return client.post("/", data=body, content_type="multipart/form-data")


@pytest.mark.parametrize(("case", "changes", "field", "message"), REPORT_CASES,
                         ids=[c[0] for c in REPORT_CASES])
def test_report_form_errors(resident, db, case, changes, field, message):
    data = {**VALID, **changes}
    answer = post_report(resident, data)
    assert answer.status_code == 422, case
    page = answer.get_data(as_text=True)
    errors = field_errors(page)
    assert message in errors.get(field, ""), errors
    assert set(errors) == {field}, f"only {field} is wrong: {errors}"
    assert "Vui lòng sửa 1 mục" in page
    kept = form_values(page)
    for name in TEXT_FIELDS:
        assert kept[name] == data[name], f"{name} was not kept"
    for name in ("category", "district"):  # pickers: kept when the choice exists
        if data[name] in {"environment", "q3"}:
            assert kept[name] == data[name]
    assert db.reports.count_documents({}) == 0


def test_several_errors_at_once_each_next_to_its_field(resident):
    page = post_report(resident, {**VALID, "description": "ngắn", "phone": "1",
                                  "email": "@", "lat": "x"}).get_data(as_text=True)
    errors = field_errors(page)
    assert set(errors) == {"description", "phone", "email", "lat"}
    assert "Vui lòng sửa 4 mục" in page


def test_errors_in_english_when_asked(resident):
    page = post_report(resident, {**VALID, "phone": "12"}, lang="en").get_data(as_text=True)
    assert "Not a valid phone number" in field_errors(page)["phone"]


@pytest.mark.parametrize(("case", "files", "message"), [
    ("not an image", [(io.BytesIO(b"%PDF-1.4 not a photo"), "giay-to.pdf")], "không phải ảnh"),
    ("four photos", [(io.BytesIO(PNG), f"anh{i}.png") for i in range(4)], "tối đa 3 ảnh"),
])
def test_photo_errors(resident, db, case, files, message):
    answer = post_report(resident, VALID, files=files)
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in field_errors(page)["photos"]
    assert form_values(page)["description"] == VALID["description"]
    assert db.reports.count_documents({}) == 0


def test_photo_too_large(settings, clock, db):
    app = create_intake(dataclasses.replace(settings, max_photo_bytes=1024), clock=clock)
    big = PNG + b"\0" * 2000
    page = post_report(app.test_client(), VALID, files=[(io.BytesIO(big), "lon.png")])
    assert "lớn hơn" in field_errors(page.get_data(as_text=True))["photos"]


def test_photos_are_asked_again_after_another_error(resident):
    page = post_report(resident, {**VALID, "phone": "1"},
                       files=[(io.BytesIO(PNG), "anh.png")]).get_data(as_text=True)
    assert "chọn lại ảnh" in field_errors(page)["photos"]


def test_valid_photos_are_stored(resident, db):
    answer = post_report(resident, VALID, files=[(io.BytesIO(PNG), "a.png"),
                                                 (io.BytesIO(PNG), "b.png")])
    assert answer.status_code == 303
    report = db.reports.find_one({})
    assert len(report["photo_ids"]) == 2
    assert db.photos.count_documents({"report_id": report["_id"]}) == 2


@pytest.mark.parametrize(("typed", "message"), [
    ("abc", "có dạng HCM-2026-000123"),
    ("HCM-2026-999999", "Không tìm thấy"),
])
def test_lookup_form_errors(resident, typed, message):
    answer = resident.get(f"/track?code={typed}")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert message in field_errors(page)["code"]
    assert form_values(page)["code"] == typed


@pytest.fixture
def resolved_code(resident, db, clock) -> str:
    assert post_report(resident, VALID).status_code == 303
    doc = db.reports.find_one({})
    db.reports.update_one({"_id": doc["_id"]},
                          {"$set": {"status": "resolved", "resolved_at": clock()}})
    return doc["tracking_code"]


RATING_CASES = [
    ("no score", {"comment": "Tạm được"}, "score", "chọn mức đánh giá từ 1 đến 5"),
    ("score too high", {"score": "7", "comment": "Tạm được"}, "score", "từ 1 đến 5"),
    ("score not a number", {"score": "năm", "comment": "Tạm được"}, "score", "từ 1 đến 5"),
    # passes str.isdigit() but not int(): it was a 500
    ("score a digit sign", {"score": "④", "comment": "Tạm được"}, "score", "từ 1 đến 5"),
    ("comment too long", {"score": "4", "comment": "tốt " * 501}, "comment", "Tối đa 2.000"),
]


@pytest.mark.parametrize(("case", "data", "field", "message"), RATING_CASES,
                         ids=[c[0] for c in RATING_CASES])
def test_rating_form_errors(resident, resolved_code, case, data, field, message):
    page = resident.get(f"/track/{resolved_code}").get_data(as_text=True)
    answer = resident.post(f"/track/{resolved_code}/rating",
                           data={**data, "csrf_token": csrf_of(page)})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert message in field_errors(html).get(field, ""), field_errors(html)
    assert form_values(html)["comment"] == data["comment"]


def test_reopen_form_errors(resident, resolved_code):
    page = resident.get(f"/track/{resolved_code}").get_data(as_text=True)
    answer = resident.post(f"/track/{resolved_code}/reopen",
                           data={"reason": "tệ", "csrf_token": csrf_of(page)})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "ít nhất 5 ký tự" in field_errors(html)["reason"]
    assert form_values(html)["reason"] == "tệ"


def test_tracker_down_is_said_on_the_form_and_the_rating_kept(settings, clock, db):
    dead = dataclasses.replace(settings, tracker_url=f"http://127.0.0.1:{free_port()}")
    client = create_intake(dead, clock=clock).test_client()
    assert post_report(client, VALID).status_code == 303
    doc = db.reports.find_one({})
    db.reports.update_one({"_id": doc["_id"]},
                          {"$set": {"status": "resolved", "resolved_at": clock()}})
    code = doc["tracking_code"]
    page = client.get(f"/track/{code}").get_data(as_text=True)
    answer = client.post(f"/track/{code}/rating", data={
        "score": "2", "comment": "Vẫn còn rác", "csrf_token": csrf_of(page)})
    html = answer.get_data(as_text=True)
    assert "thử lại" in field_errors(html)["score"]
    assert {"score": "2", "comment": "Vẫn còn rác"}.items() <= form_values(html).items()
