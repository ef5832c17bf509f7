"""Open311 GeoReport v2, exercised with an off-the-shelf client (the `georeport` package)."""

from __future__ import annotations

import requests
from georeport import GeoReport

from services.intake.store import REPORTS
from shared.taxonomy import CATEGORY_CODES

FORM = {
    "api_key": "demo",
    "service_code": "flooding",
    "lat": "10.7769",
    "long": "106.7009",
    "address_string": "Đường Nguyễn Huệ, Quận 1",
    "description": "Nước ngập tới bánh xe, gọi 0901234567 nếu cần thêm thông tin.",
    "first_name": "An",
    "last_name": "Nguyễn",
    "email": "an@example.vn",
    "phone": "0901234567",
}


def test_client_lists_services_and_reads_back_a_request(app, db):
    from tests.helpers import live_server

    with live_server(app) as base:
        root = f"{base}/open311/v2"
        for fmt in ("json", "xml"):
            client = GeoReport(root, output_format=fmt)
            services = client.get_service_list()
            assert [s["service_code"] for s in services] == list(CATEGORY_CODES)
            assert all(s["group"] for s in services)

        created = requests.post(f"{root}/requests.json", data=FORM, timeout=10)
        assert created.status_code == 201
        answer = created.json()[0]
        request_id = answer["service_request_id"]

        for fmt in ("json", "xml"):
            client = GeoReport(root, output_format=fmt)
            got = client.get_service_request(request_id)
            assert got["service_request_id"] == request_id
            assert got["service_code"] == "flooding"
            assert got["status"] == "open"
            assert got["requested_datetime"].endswith("+07:00")
            assert "0901234567" not in str(got) and "an@example.vn" not in str(got)
            listed = client.get_service_requests(service_code="flooding", status="open")
            listed = listed if isinstance(listed, list) else [listed]
            assert request_id in [r["service_request_id"] for r in listed]

        token = requests.get(f"{root}/tokens/{answer['token']}.json", timeout=10).json()[0]
        assert token["service_request_id"] == request_id

        xml_post = requests.post(f"{root}/requests.xml", data=FORM, timeout=10)
        assert xml_post.status_code == 201 and "<service_request_id>" in xml_post.text
    assert db[REPORTS].count_documents({"channel": "open311"}) == 2


def test_service_code_may_be_left_out(client, db):
    form = {k: v for k, v in FORM.items() if k != "service_code"}
    resp = client.post("/open311/v2/requests.json", data=form)
    assert resp.status_code == 201
    doc = db[REPORTS].find_one({"tracking_code": resp.get_json()[0]["service_request_id"]})
    assert doc["service_code"] is None and doc["category_hint"] is None


def test_filters(client, clock):
    ids = []
    for code in ("flooding", "noise", "noise"):
        resp = client.post("/open311/v2/requests.json", data={**FORM, "service_code": code})
        ids.append(resp.get_json()[0]["service_request_id"])
    only_noise = client.get("/open311/v2/requests.json?service_code=noise").get_json()
    assert sorted(r["service_request_id"] for r in only_noise) == sorted(ids[1:])
    by_id = client.get(f"/open311/v2/requests.json?service_request_id={ids[0]},{ids[2]}"
                       "&service_code=noise").get_json()
    assert sorted(r["service_request_id"] for r in by_id) == sorted([ids[0], ids[2]])
    assert client.get("/open311/v2/requests.json?status=closed").get_json() == []
    old = client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00%2B07:00"
                     "&end_date=2026-02-01T00:00:00%2B07:00").get_json()
    assert old == []
    clock.advance(days=1)
    recent = client.get("/open311/v2/requests.json").get_json()
    assert len(recent) == 3
