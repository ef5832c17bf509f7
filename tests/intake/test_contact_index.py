"""Intake, which holds the contacts, puts the keyed blind index of a report's phone numbers
on the report and its event, so the tracker can find a caller's reports without the number."""

from __future__ import annotations

from services.intake.outbox.relay import to_event
from services.intake.store import REPORTS
from shared.blind_index import BlindIndex
from shared.events import encode_event
from tests.intake.test_personal_data import PHONE, SECRETS, file_reports


def test_every_channel_carries_the_index_and_no_number(client, db, settings):
    ids = file_reports(client)
    expected = BlindIndex(settings.contact_index_key).phones(PHONE)
    assert len(expected) == 1
    docs = list(db[REPORTS].find({}))
    assert {str(d["_id"]) for d in docs} == ids
    for doc in docs:
        assert doc["contact_index"] == expected, doc["channel"]
        raw = encode_event(to_event(doc))
        assert expected[0].encode() in raw
        assert not [s for s in SECRETS if s in raw]


def test_no_phone_no_index(client, db):
    resp = client.post("/api/v1/reports", json={
        "channel": "web", "description": "Cây xanh đổ chắn ngang đường Lê Lợi từ tối qua."})
    assert resp.status_code == 201
    doc = db[REPORTS].find_one({})
    assert doc["contact_index"] == [] and to_event(doc).contact_index == []
