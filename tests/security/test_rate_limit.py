"""Rate limit: made-up API keys get no bucket of their own, and the count is shared by every
worker (two app instances on one store stand for two gunicorn workers or replicas)."""

from __future__ import annotations

from services.intake.app import create_app
from services.intake.ratelimit import COUNTS
from shared.settings import Settings
from tests.intake.conftest import valid_report


def test_thirty_posts_with_made_up_keys_are_refused_401_before_any_work(env, db):
    client = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "5"})).test_client()
    answers = [client.post("/api/v1/reports", json=valid_report(),
                           headers={"X-API-Key": f"made-up-{i}-" + "x" * 8000})
               for i in range(30)]
    assert {a.status_code for a in answers} == {401}
    assert answers[0].content_type == "application/problem+json"
    assert answers[0].get_json()["errors"][0]["field"] == "X-API-Key"
    form = {"api_key": "made-up", "description": "Ngập nước đường Lê Lợi",
            "address_string": "1 Lê Lợi"}
    assert client.post("/open311/v2/requests.json", data=form).status_code == 401
    assert db.reports.count_documents({}) == 0
    assert db[COUNTS].count_documents({}) == 0  # no bucket was made for a junk key


def test_made_up_keys_do_not_escape_the_address_limit(env, db):
    client = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "3"})).test_client()
    codes = [client.post("/api/v1/reports", json=valid_report()).status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    assert client.post("/api/v1/reports", json=valid_report(),
                       headers={"X-API-Key": "another-made-up-key"}).status_code != 201
    assert db.reports.count_documents({}) == 3


def test_two_workers_count_one_limit_not_two(env, db):
    settings = Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "4"})
    workers = [create_app(settings).test_client(), create_app(settings).test_client()]
    codes = [workers[i % 2].post("/api/v1/reports", json=valid_report()).status_code
             for i in range(8)]
    assert codes == [201] * 4 + [429] * 4
    assert db.reports.count_documents({}) == 4


def test_a_verified_key_is_counted_apart_from_its_address(env, db):
    client = create_app(Settings.from_env({**env, "RATE_LIMIT_PER_MINUTE": "2"})).test_client()
    for _ in range(2):
        assert client.post("/api/v1/reports", json=valid_report()).status_code == 201
    assert client.post("/api/v1/reports", json=valid_report()).status_code == 429
    keyed = client.post("/api/v1/reports", json=valid_report(),
                        headers={"X-API-Key": "demo-operator"})
    assert keyed.status_code == 201
