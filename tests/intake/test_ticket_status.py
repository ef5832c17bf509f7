"""Ticket status events update the citizen's view in order, once; the citizen's rating and
reopen are refused clearly when the tracker cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.projector import apply_status, status_filter
from services.intake.store import REPORTS
from shared.events import TicketStatusChangedV1
from shared.settings import Settings
from tests.intake.conftest import valid_report


def status_event(report_id: str, code: str, seq: int, to: str, note: str | None = None):
    at = datetime(2026, 11, 23, 4, 0, tzinfo=UTC) + timedelta(minutes=seq)
    return TicketStatusChangedV1(
        event_id=f"{report_id}:{seq}", occurred_at=at, ticket_id=report_id,
        report_id=report_id, tracking_code=code, seq=seq, from_state=None, to_state=to,
        public_note=note, category="flooding", department="thoat_nuoc_do_thi",
        expected_resolution_at=at + timedelta(days=2))


def test_status_events_apply_in_order_and_once(client, db):
    created = client.post("/api/v1/reports", json=valid_report()).get_json()
    rid, code = created["report_id"], created["tracking_code"]
    assert apply_status(db=db, event=status_event(rid, code, 3, "in_progress", "Đang bơm nước"))
    assert not apply_status(db=db, event=status_event(rid, code, 3, "in_progress",
                                                      "Đang bơm nước"))
    assert not apply_status(db=db, event=status_event(rid, code, 2, "assigned"))
    assert apply_status(db=db, event=status_event(rid, code, 4, "resolved", "Đã hết ngập"))
    page = client.get(f"/api/v1/reports/{code}").get_json()
    assert page["status"] == "resolved"
    assert [n["text"] for n in page["public_notes"]] == ["Đang bơm nước", "Đã hết ngập"]
    assert page["agency_responsible"] == "thoat_nuoc_do_thi"
    assert page["can_rate"] is True
    assert db[REPORTS].find_one({"tracking_code": code})["ticket_seq"] == 4


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # a new report each
@given(seqs=st.lists(st.integers(1, 8), min_size=1, max_size=8))
def test_status_events_in_any_order_leave_the_latest(client, db, seqs):
    """Redelivered and out-of-order events: each applies only when it is newer than what the
    report shows, and the report ends with the latest one."""
    created = client.post("/api/v1/reports", json=valid_report()).get_json()
    rid, code = created["report_id"], created["tracking_code"]
    states = ("assigned", "in_progress", "resolved", "reopened")
    shown = 0
    for seq in seqs:
        applied = apply_status(db=db, event=status_event(rid, code, seq, states[seq % 4]))
        assert applied == (seq > shown)
        shown = max(shown, seq)
    stored = db[REPORTS].find_one({"_id": ObjectId(rid)})
    assert stored["ticket_seq"] == shown and stored["status"] == states[shown % 4]


def test_the_status_update_finds_its_report_by_id_alone():
    """The embedded store reads a document by `_id` only when no other top-level operator
    (`$or`) is in the filter; otherwise it scans every report (the projector's update cost
    grew with the month: 34 ms per event at 1,500 reports in `make simulate`)."""
    event = status_event(str(ObjectId()), "HCM-X", 3, "assigned")
    query = status_filter(event)
    assert query["_id"] == ObjectId(event.report_id)
    assert not [k for k in query if k.startswith("$")]


def test_rating_when_the_tracker_is_down_is_a_503_problem(env, db, clock):
    from services.intake.app import create_app
    from shared.devstack import free_port

    settings = Settings.from_env({**env, "TRACKER_URL": f"http://127.0.0.1:{free_port()}"})
    client = create_app(settings, clock=clock).test_client()
    created = client.post("/api/v1/reports", json=valid_report()).get_json()
    code, key = created["tracking_code"], created["citizen_key"]
    resp = client.post(f"/api/v1/reports/{code}/rating", json={"score": 4, "citizen_key": key})
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json" and resp.headers["Retry-After"]
    bad = client.post(f"/api/v1/reports/{code}/rating", json={"score": 9, "citizen_key": key})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "score"


def _classified(version: int, report_id: str, code: str, **extra):
    from shared.events import ReportClassifiedV1, ReportClassifiedV2

    at = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    cls = ReportClassifiedV1 if version == 1 else ReportClassifiedV2
    return cls(event_id=f"{report_id}:classified", occurred_at=at, report_id=report_id,
               tracking_code=code, channel="web", description="Đường ngập sâu sau mưa lớn",
               submitted_at=at, category="flooding", confidence=0.9,
               top3=[("flooding", 0.9)], urgent=False, district="q3", needs_triage=False,
               model_version="test", **extra)


def test_the_department_shown_is_the_trackers_never_the_classifiers(client, db):
    """Open311's agency_responsible: none until the tracker routes the report, then the
    tracker's department. A v1 classified event (still accepted) names a department from the
    classifier's old routing copy: it is not shown."""
    from services.intake.projector import apply_classified

    for version in (1, 2):
        created = client.post("/api/v1/reports", json=valid_report()).get_json()
        rid, code = created["report_id"], created["tracking_code"]
        extra = {"department": "classifier_says"} if version == 1 else {}
        assert apply_classified(db=db, event=_classified(version, rid, code, **extra))
        page = client.get(f"/api/v1/reports/{code}").get_json()
        assert (page["service_code"], page["agency_responsible"]) == ("flooding", None)
        assert apply_status(db=db, event=status_event(rid, code, 2, "assigned"))
        page = client.get(f"/api/v1/reports/{code}").get_json()
        assert page["agency_responsible"] == "thoat_nuoc_do_thi"
