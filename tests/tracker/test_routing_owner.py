"""The tracker owns routing: the department of a ticket comes from its routing table, for
classified events of both versions (v1 named a department of its own, which is ignored)."""

from __future__ import annotations

from services.tracker.config import ConfigSource
from services.tracker.store import TICKETS
from services.tracker.worker import store_tickets
from shared.events import ReportClassifiedV1, decode_event, encode_event
from tests.tracker.conftest import classified


def _v1(event, department: str) -> ReportClassifiedV1:
    return ReportClassifiedV1(**event.model_dump(exclude={"schema_version"}),
                              department=department)


def test_both_versions_become_tickets_routed_by_the_trackers_table(tdb, config, clock):
    v2 = classified(at=clock(), category="noise", district="q1")
    v1 = _v1(classified(at=clock(), category="flooding", district=None), "classifier_says")
    events = [decode_event(encode_event(e)) for e in (v1, v2)]  # as read from the topic
    store_tickets(events, clock(), db=tdb, source=ConfigSource.fixed(config))
    routed = {t["_id"]: t["department"] for t in tdb[TICKETS].find()}
    assert routed == {v2.report_id: config.routing.department("noise", "q1"),
                      v1.report_id: config.routing.department("flooding", None)}
    assert "classifier_says" not in routed.values()


def test_the_operator_console_shows_the_trackers_department(app):
    from services.tracker.pages.views_operator import suggestion_view

    prediction = {"category": "noise", "confidence": 0.9, "top3": [["noise", 0.9]],
                  "district": "q1", "urgent": False, "needs_triage": False,
                  "department": "classifier_says"}
    with app.test_request_context("/staff/operator"):
        routed = suggestion_view(prediction)
        unsure = suggestion_view({**prediction, "needs_triage": True})
    config = app.extensions["tracker"].config
    assert routed["department"] == config.routing.department("noise", "q1")
    assert unsure["department"] is None
