"""Rate limit, health, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from services.intake.app import create_app
from shared.settings import Settings
from tests.intake.conftest import valid_report


def test_rate_limit_answers_429_with_retry_after(env, db):
    app = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "3"}))
    client = app.test_client()
    codes = [client.post("/api/v1/reports", json=valid_report()).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = client.post("/api/v1/reports", json=valid_report())
    assert limited.content_type == "application/problem+json"
    # a sliding-window counter: a full minute's share of the estimate fades over the next one
    assert 1 <= int(limited.headers["Retry-After"]) <= 121
    other_client = client.post("/api/v1/reports", json=valid_report(),
                               environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other_client.status_code == 201
    assert db.reports.count_documents({}) == 4


def test_health_and_readiness(client, env, db):
    assert client.get("/healthz").get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"store": True}
    assert "intake_broker_reachable 1.0" in client.get("/metrics").get_data(as_text=True)
    # Kafka down: intake stays in the load balancer (the outbox holds the reports) and says so
    down = create_app(Settings.from_env({**env, "KAFKA_BOOTSTRAP": "127.0.0.1:1"})).test_client()
    assert down.get("/readyz").status_code == 200
    assert "intake_broker_reachable 0.0" in down.get("/metrics").get_data(as_text=True)


def test_behind_a_proxy_the_rate_limit_counts_the_citizen_not_the_proxy(env, db):
    app = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "2",
                                        "PROXY_HOPS": "1"}))
    client = app.test_client()
    for citizen in ("203.0.113.7", "203.0.113.8"):
        answers = [client.post("/api/v1/reports", json=valid_report(),
                               headers={"X-Forwarded-For": citizen}).status_code
                   for _ in range(3)]
        assert answers == [201, 201, 429], citizen


def test_metrics_expose_requests_and_backlog(client):
    for _ in range(2):
        client.post("/api/v1/reports", json=valid_report())
    text = client.get("/metrics").get_data(as_text=True)
    assert "intake_outbox_backlog 2.0" in text
    assert 'http_requests_total{method="POST",route="/api/v1/reports",service="intake",' \
           'status="201"}' in text
    assert "http_request_duration_seconds_bucket" in text


def test_openapi_document_is_generated_from_the_models(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    schema = doc["components"]["schemas"]["ReportIn"]
    assert set(schema["required"]) == {"channel", "description"}
    assert schema["additionalProperties"] is False
    post = doc["paths"]["/api/v1/reports"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReportIn")
    assert "422" in post["responses"] and "201" in post["responses"]
    assert "/open311/v2/requests.{fmt}" in doc["paths"]
