"""Ticket status events update the citizen's view in order, once; the citizen's rating and
reopen are refused clearly when the tracker cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.projector import apply_status, planned_writes, status_update
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


def test_the_status_update_writes_its_report_by_id_alone():
    """The embedded store plans a filter of several fields against every index of the
    reports (several times the store's CPU of a write by `_id`, `bench.store_filters`): the
    projector checks the condition on its read and writes by `_id` alone."""
    event = status_event(str(ObjectId()), "HCM-X", 3, "assigned")
    projection = status_update(event)
    writes, applied = planned_writes({projection.report_id: {"status": "received"}},
                                     [projection])
    assert applied == [True]
    assert [w._filter for w in writes] == [{"_id": ObjectId(event.report_id)}]


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


def _stored(db, report_ids):
    return [{k: v for k, v in db[REPORTS].find_one({"_id": r}).items() if k != "_id"}
            for r in report_ids]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=1,
                      max_size=10))
def test_a_batch_gives_what_its_events_one_at_a_time_give(db, moves):
    """The projector's batch (one read, writes by `_id`, one transaction): the same reports
    as the events applied one at a time, in order, with several events for one report in
    the batch; a replay of the batch changes nothing."""
    from services.intake.projector import apply_classified, apply_events

    states = ("assigned", "in_progress", "resolved", "reopened")
    one_by_one, batched = [ObjectId(), ObjectId()], [ObjectId(), ObjectId()]
    db[REPORTS].insert_many([{"_id": r, "status": "received"} for r in one_by_one + batched])

    def events(ids):
        out = []
        for report, seq in moves:  # seq 0: the classifier's verdict
            rid = str(ids[report])
            out.append(_classified(2, rid, "HCM-X") if seq == 0 else status_event(
                rid, "HCM-X", seq, states[seq % 4], f"note {seq}" if seq % 2 else None))
        return out

    for event in events(one_by_one):
        if isinstance(event, TicketStatusChangedV1):
            apply_status(db=db, event=event)
        else:
            apply_classified(db=db, event=event)
    apply_events(events(batched), None, db=db)
    assert _stored(db, batched) == _stored(db, one_by_one)
    apply_events(events(batched), None, db=db)
    assert _stored(db, batched) == _stored(db, one_by_one)


def test_the_projector_writes_reports_by_id_alone(stack, settings, db):
    """What the store is sent for a batch: every update addresses its report by `_id` alone
    (a filter of several fields is planned against every index of the reports), one per
    report."""
    from pymongo import MongoClient
    from pymongo.monitoring import CommandListener

    from services.intake.projector import apply_events

    class Updates(CommandListener):
        def __init__(self):
            self.filters = []

        def started(self, event):
            if event.command_name == "update":
                self.filters += [u["q"] for u in event.command["updates"]]

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    rid = ObjectId()
    db[REPORTS].insert_one({"_id": rid, "status": "received"})
    updates = Updates()
    watched = MongoClient(stack.store.uri, tz_aware=True, event_listeners=[updates])
    try:
        apply_events([_classified(2, str(rid), "HCM-X"),
                      status_event(str(rid), "HCM-X", 2, "assigned"),
                      status_event(str(rid), "HCM-X", 3, "in_progress", "Đang xử lý")],
                     None, db=watched[settings.mongo_db])
    finally:
        watched.close()
    assert updates.filters == [{"_id": rid}]  # one write for the report's three events
    stored = db[REPORTS].find_one({"_id": rid})
    assert (stored["status"], stored["ticket_seq"]) == ("in_progress", 3)
