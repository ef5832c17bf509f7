"""Finding 9: control characters in any text field must not reach storage or the XML feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.intake.store import REPORTS
from tests.intake.conftest import valid_report

FORM = {
    "api_key": "demo",
    "service_code": "flooding",
    "lat": "10.7769",
    "long": "106.7009",
    "description": "Nước ngập tới bánh xe\x0b trên đường Nguyễn Huệ.",
}
CONTROLS = "\x00\x01\x08\x0b\x0c\x1b\x7f\x85"


@pytest.mark.parametrize("field", ["address_id", "address_string", "device_id", "account_id",
                                   "jurisdiction_id", "first_name", "last_name"])
def test_attack_control_character_in_open311_post_cannot_break_the_xml_feed(client, db, field):
    created = client.post("/open311/v2/requests.json",
                          data={**FORM, field: f"ab{CONTROLS}cd"})
    assert created.status_code == 201, created.get_data(as_text=True)
    feed = client.get("/open311/v2/requests.xml")
    assert feed.status_code == 200
    root = ET.fromstring(feed.data)  # a real XML parser: raises on an ill-formed document
    assert root.findall("request")
    stored = db[REPORTS].find_one({}, {"address": 1, "description": 1})
    for value in (stored.get("address") or "", stored["description"]):
        assert not any(c in value for c in CONTROLS)


def test_attack_control_characters_in_json_report_fields_are_stripped(client, db):
    body = valid_report(description="Đường ngập\x1b[31m sâu sau\x00 cơn mưa chiều nay.",
                        address="12\x07 Lê Lợi\x0c")
    body["reporter"]["name"] = "An\x08\x7f"
    created = client.post("/api/v1/reports", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    stored = db[REPORTS].find_one({})
    assert "\x1b" not in stored["description"] and "\x00" not in stored["description"]
    assert "\x07" not in stored["address"] and "\x0c" not in stored["address"]


def test_lone_surrogate_in_json_description_is_stripped_without_a_crash(client, db):
    raw = ('{"channel": "web", "district": "q3", "description": '
           '"Rác không ai thu gom \\ud800 đã ba ngày rồi."}')
    created = client.post("/api/v1/reports", data=raw, content_type="application/json")
    assert created.status_code == 201, created.get_data(as_text=True)
    assert "\ud800" not in db[REPORTS].find_one({})["description"]
