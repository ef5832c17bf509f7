"""Finding 10: a photo's EXIF GPS position must not be kept, and photos are personal data:
encrypted at rest and re-encrypted by rotate-keys; the public sees no exact location."""

from __future__ import annotations

import base64
import io

from PIL import Image

from services.intake.keys import rotate_pii
from services.intake.store import PHOTOS, REPORTS
from shared.crypto import FieldCipher
from tests.helpers import image_bytes
from tests.intake.conftest import valid_report

GPS_IFD = 0x8825


def _post_photo(client, data: bytes) -> dict:
    answer = client.post("/api/v1/reports", json=valid_report(
        photos=[{"filename": "a.jpg", "content_base64": base64.b64encode(data).decode()}]))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def test_attack_reading_the_gps_position_from_an_uploaded_photo(client, db, settings):
    original = image_bytes(exif_gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    _post_photo(client, original)
    stored = db[PHOTOS].find_one({})
    data = stored["data"]
    if stored.get("encrypted"):
        data = FieldCipher(settings.pii_keys).decrypt_bytes(data)
    image = Image.open(io.BytesIO(data))
    assert image.size == (8, 6)
    exif = image.getexif()
    assert not exif.get_ifd(GPS_IFD) and "PhoneMaker" not in str(dict(exif))
    assert b"PhoneMaker" not in data


def test_attack_reading_a_photo_straight_from_the_store_without_the_key(client, db, settings):
    _post_photo(client, image_bytes("PNG"))
    stored = db[PHOTOS].find_one({})
    assert not bytes(stored["data"]).startswith(b"\x89PNG")
    assert FieldCipher(settings.pii_keys).decrypt_bytes(stored["data"]).startswith(b"\x89PNG")

    new_key = FieldCipher.generate_key()
    rotate_pii(db=db, cipher=FieldCipher([new_key, *settings.pii_keys]))
    rotated = db[PHOTOS].find_one({})
    assert FieldCipher([new_key]).decrypt_bytes(rotated["data"]).startswith(b"\x89PNG")


def test_attack_reading_exact_coordinates_from_the_public_open311_feed(client, db):
    body = valid_report(lat=10.776912, long=106.700981, address="45A/7 Nguyễn Huệ, Quận 1")
    created = client.post("/api/v1/reports", json=body).get_json()["tracking_code"]
    for fmt in ("json", "xml"):
        page = client.get(f"/open311/v2/requests/{created}.{fmt}").get_data(as_text=True)
        assert "10.776912" not in page and "106.700981" not in page
        assert "10.777" in page and "106.701" in page
        assert "45A/7" not in page and "Nguyễn Huệ" in page
    assert db[REPORTS].find_one({})["address"] == "45A/7 Nguyễn Huệ, Quận 1"  # staff keep it


def test_attack_gps_position_kept_in_a_photo_sent_with_the_web_form(app, db, settings):
    """The web form read uploads without the API's EXIF removal (found by issue 18)."""
    from tests.web.conftest import csrf_of

    resident = app.test_client()
    page = resident.get("/").get_data(as_text=True)
    sent = resident.post("/", content_type="multipart/form-data", data={
        "description": "Cống trước nhà số 12 bị tắc, nước tràn lên vỉa hè mấy ngày nay.",
        "csrf_token": csrf_of(page), "submission": "exif-web-form-1",
        "photos": (io.BytesIO(image_bytes(exif_gps=True)), "street.jpg")})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    data = FieldCipher(settings.pii_keys).decrypt_bytes(db[PHOTOS].find_one({})["data"])
    assert not Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    assert b"PhoneMaker" not in data
