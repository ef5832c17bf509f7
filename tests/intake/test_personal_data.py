"""Personal data is encrypted at rest and absent from events, metrics and public views."""

from __future__ import annotations

from bson.raw_bson import RawBSONDocument

from services.intake.keys import rotate_pii
from services.intake.store import REPORTS
from shared.crypto import FieldCipher
from tests.intake.test_outbox import publish_all

NAME, PHONE, EMAIL = "Lê Thị Hồng Nhung", "0987654321", "nhung.le@example.vn"
SECRETS = [NAME.encode(), PHONE.encode(), b"987654321", b"+84987654321", EMAIL.encode(),
           "Lê Thị".encode()]


def file_reports(client) -> set[str]:
    bodies = [
        {"channel": "web", "description": "Cống bị nghẹt, nước tràn vào nhà dân mỗi khi mưa.",
         "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL}},
        {"channel": "app", "description": f"Điện chập chờn cả tuần, liên hệ {PHONE} hoặc "
                                         f"{EMAIL} nhé", "reporter": {"phone": PHONE}},
        {"channel": "call_center", "description": "Người dân gọi báo cây đổ chắn đường.",
         "call": {"operator_id": "op-1", "call_id": "c-9", "caller_phone": PHONE}},
    ]
    ids = set()
    for body in bodies:
        resp = client.post("/api/v1/reports", json=body, headers={"X-API-Key": "demo-operator"})
        assert resp.status_code == 201
        ids.add(resp.get_json()["report_id"])
    form = {"api_key": "demo", "description": "Rác ùn ứ trước chợ, mùi hôi thối.",
            "address_string": "Chợ Bến Thành", "first_name": "Nhung", "last_name": "Lê Thị",
            "phone": PHONE, "email": EMAIL}
    resp = client.post("/open311/v2/requests.json", data=form)
    assert resp.status_code == 201
    ids.add(resp.get_json()[0]["token"])
    return ids


def test_raw_store_and_events_hold_no_plaintext(client, db, settings):
    ids = file_reports(client)
    raw_docs = list(db.get_collection(
        REPORTS, codec_options=db.codec_options.with_options(document_class=RawBSONDocument)
    ).find())
    assert len(raw_docs) == 4
    cipher = FieldCipher(settings.pii_keys)
    citizen_keys = [cipher.decrypt(doc["citizen_key"]).encode() for doc in db[REPORTS].find()]
    for raw in raw_docs:
        for secret in [*SECRETS, *citizen_keys]:
            assert secret not in raw.raw, secret

    events = publish_all(settings, db, ids)
    assert {e["report_id"] for e in events} == ids
    for event in events:
        for secret in [*SECRETS, *citizen_keys]:
            assert secret not in event["_raw"], secret

    metrics = client.get("/metrics").get_data()
    for secret in SECRETS:
        assert secret not in metrics
    listing = client.get("/open311/v2/requests.json").get_data()
    for secret in SECRETS:
        assert secret not in listing


def test_fields_decrypt_with_the_key_and_survive_rotation(client, db, settings):
    file_reports(client)
    old = FieldCipher(settings.pii_keys)
    doc = db[REPORTS].find_one({"channel": "web", "pii.name": {"$exists": True}})
    assert old.decrypt(doc["pii"]["name"]) == NAME
    assert old.decrypt(doc["pii"]["phone"]) == "+84987654321"
    typed = db[REPORTS].find_one({"pii.description": {"$exists": True}})
    assert PHONE in old.decrypt(typed["pii"]["description"])
    assert PHONE not in typed["description"]

    new_key = FieldCipher.generate_key()
    rotated = FieldCipher([new_key, *settings.pii_keys])
    assert rotate_pii(db=db, cipher=rotated) == 4
    only_new = FieldCipher([new_key])
    for doc in db[REPORTS].find({"pii.phone": {"$exists": True}}):
        assert only_new.decrypt(doc["pii"]["phone"]) == "+84987654321"
