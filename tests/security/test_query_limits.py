"""Finding 11: staff list paging is capped; an empty date where a date-time is due is refused."""

from __future__ import annotations

import pytest

from services.tracker.tickets.models import MAX_LIMIT, MAX_OFFSET


@pytest.mark.parametrize(("path", "field", "value"), [
    ("/api/v1/tickets", "offset", 1_000_000),
    ("/api/v1/tickets", "offset", MAX_OFFSET + 1),
    ("/api/v1/tickets", "limit", MAX_LIMIT + 1),
    ("/api/v1/triage", "offset", 1_000_000),
])
def test_attack_staff_asks_for_a_huge_offset_and_is_refused_naming_the_field(
        tracker_app, path, field, value):
    client = tracker_app.test_client()
    answer = client.get(f"{path}?{field}={value}",
                        headers={"Authorization": "Bearer demo-operator"})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert [e["field"] for e in answer.get_json()["errors"]] == [field]


def test_largest_allowed_page_is_served(tracker_app):
    client = tracker_app.test_client()
    answer = client.get(f"/api/v1/tickets?offset={MAX_OFFSET}&limit={MAX_LIMIT}",
                        headers={"Authorization": "Bearer demo-operator"})
    assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_attack_empty_date_time_parameter_is_refused_naming_the_field(client, field):
    answer = client.get(f"/open311/v2/requests.json?{field}=")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert [e["field"] for e in answer.get_json()["errors"]] == [field]
