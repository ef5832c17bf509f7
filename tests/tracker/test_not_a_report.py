"""Issue 15: a classified event the classifier calls not_a_report (or any triage reason)
lands in triage with the reason, never in a department; events without the new optional
fields still decode and behave as before."""

from __future__ import annotations

import json

from shared.events import decode_event, encode_event
from tests.helpers import create_from_classified
from tests.tracker.conftest import auth, classified


def test_not_a_report_waits_in_triage_with_the_reason(client, tdb, config, clock):
    event = classified(at=clock(), category="flooding", district="q1", confidence=0.81,
                       description="Cảm ơn các anh chị đã xử lý nhanh vụ cống nghẹt hôm trước")
    event = event.model_copy(update={"needs_triage": True, "outcome": "not_a_report",
                                     "triage_reason": "not_a_report"})
    event = decode_event(encode_event(event))  # as the worker reads it from Kafka
    ticket, created = create_from_classified(db=tdb, config=config, event=event, now=clock())
    assert created and ticket["state"] == "triage" and ticket["department"] is None
    assert ticket["triage_reason"] == "not_a_report"
    assert "Không phải phản ánh" in ticket["history"][-1]["note"]
    shown = client.get(f"/api/v1/tickets/{ticket['_id']}", headers=auth("supervisor")).json
    assert shown["triage_reason"] == "not_a_report" and shown["department"] is None


def test_an_older_event_without_the_new_fields_still_works(tdb, config, clock):
    event = classified(at=clock(), needs_triage=True, confidence=0.3)
    raw = json.loads(encode_event(event))
    for key in ("outcome", "triage_reason", "danger"):
        raw.pop(key, None)
    old = decode_event(json.dumps(raw).encode())
    ticket, _ = create_from_classified(db=tdb, config=config, event=old, now=clock())
    assert ticket["state"] == "triage" and ticket["triage_reason"] == "low_confidence"
    assert "Độ tin cậy thấp" in ticket["history"][-1]["note"]


def test_a_routed_event_has_no_triage_reason(tdb, config, clock):
    ticket, _ = create_from_classified(db=tdb, config=config, event=classified(at=clock()),
                                       now=clock())
    assert ticket["state"] == "assigned" and ticket["triage_reason"] is None
