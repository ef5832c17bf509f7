from __future__ import annotations

import pytest

from services.classifier.app import create_app


@pytest.fixture
def client(settings, classifier):
    return create_app(settings, classifier=classifier).test_client()


def test_classify_answers_the_prediction(client):
    resp = client.post("/api/v1/classify", json={
        "id": "call-1", "text": "Người dân gọi báo trụ điện nghiêng, dây điện rớt xuống "
                                "đường, đang xẹt lửa trước số 12 Trần Hưng Đạo, Quận 5"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == "call-1" and body["district"] == "q5"
    assert body["category"] == "electricity" and body["urgent"] is True
    assert body["model_version"]


@pytest.mark.parametrize("payload,field", [
    ({}, "text"), ({"text": ""}, "text"), ({"text": {"$gt": ""}}, "text"),
    ({"text": "x" * 50_001}, "text"), ({"text": "ngập", "extra": 1}, "extra"),
])
def test_bad_input_is_a_problem(client, payload, field):
    resp = client.post("/api/v1/classify", json=payload)
    assert resp.status_code == 422
    assert resp.content_type == "application/problem+json"
    assert field in [e["field"] for e in resp.get_json()["errors"]]


def test_openapi_and_metrics(client):
    doc = client.get("/openapi.json").get_json()
    assert "/api/v1/classify" in doc["paths"]
    assert "ClassifyIn" in doc["components"]["schemas"]
    client.post("/api/v1/classify", json={"text": "rác ùn ứ đầu hẻm mấy ngày"})
    assert 'route="/api/v1/classify"' in client.get("/metrics").get_data(as_text=True)
