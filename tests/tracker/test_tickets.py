"""Tickets through the API: creation, the state machine, notes, re-routing, duplicates,
triage, the citizen's rating and reopen, the queue order and the supervisors' figures."""

from __future__ import annotations

import csv
import io

import pytest

from services.tracker.publisher import ticket_events
from services.tracker.store import TICKETS
from services.tracker.tickets.states import TRANSITIONS
from shared.events import TicketCorrectedV1, TicketStatusChangedV1
from tests.helpers import create_from_classified
from tests.tracker.conftest import auth, classified


def move(client, ticket_id, to, role="handler", **body):
    return client.post(f"/api/v1/tickets/{ticket_id}/transitions",
                       json={"to": to, **body}, headers=auth(role))


def test_a_replayed_event_makes_no_second_ticket(tdb, config, clock):
    event = classified(at=clock())
    first, created = create_from_classified(db=tdb, config=config, event=event, now=clock())
    clock.advance(minutes=5)
    again, created_again = create_from_classified(db=tdb, config=config, event=event,
                                                  now=clock())
    assert created and not created_again
    assert again["_id"] == first["_id"] and again["seq"] == first["seq"]
    assert tdb[TICKETS].count_documents({}) == 1


def test_routing_table_and_triage_queue(client, make_ticket):
    local = make_ticket(category="noise", district="q1")
    central = make_ticket(category="flooding", district=None)
    unsure = make_ticket(category="health", needs_triage=True, confidence=0.31)
    assert local["department"] == "ubnd_q1" and local["state"] == "assigned"
    assert central["department"] == "thoat_nuoc_do_thi"
    assert unsure["state"] == "triage" and unsure["department"] is None

    triage = client.get("/api/v1/triage", headers=auth("operator")).json
    assert [t["id"] for t in triage["items"]] == [unsure["_id"]]
    picked = client.post(f"/api/v1/tickets/{unsure['_id']}/triage",
                         json={"category": "environment", "district": "q1"},
                         headers=auth("operator"))
    assert picked.status_code == 200
    assert picked.json["state"] == "assigned"
    assert picked.json["department"] == "so_nong_nghiep_moi_truong"
    assert client.get("/api/v1/triage", headers=auth("operator")).json["total"] == 0


@pytest.mark.parametrize("state", sorted(TRANSITIONS))
def test_every_illegal_move_answers_409_and_changes_nothing(client, tdb, make_ticket, state):
    ticket = make_ticket()
    tdb[TICKETS].update_one({"_id": ticket["_id"]}, {"$set": {"state": state}})
    before = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    for target in sorted(set(TRANSITIONS) - TRANSITIONS[state] - {"duplicate"}):
        resp = move(client, ticket["_id"], target, role="supervisor")
        assert resp.status_code == 409, (state, target, resp.json)
        assert resp.json["errors"][0]["field"] == "to"
    assert tdb[TICKETS].find_one({"_id": ticket["_id"]}) == before


def test_history_is_an_audit_trail_with_public_and_internal_notes(client, make_ticket, clock):
    ticket = make_ticket()
    clock.advance(minutes=10)
    assert move(client, ticket["_id"], "in_progress", note="Đã cử đội kiểm tra",
                public=True).status_code == 200
    clock.advance(minutes=10)
    note = client.post(f"/api/v1/tickets/{ticket['_id']}/notes",
                       json={"note": "Gọi điện cho điện lực phối hợp", "public": False},
                       headers=auth("handler"))
    assert note.status_code == 200
    history = note.json["history"]
    assert [(h["from_state"], h["to_state"]) for h in history] == [
        (None, "new"), ("new", "assigned"), ("assigned", "in_progress"),
        ("in_progress", "in_progress")]
    assert history[2]["by"] == "handler.xaydung" and history[2]["public"] is True
    assert history[3]["public"] is False
    assert history[2]["at"] < history[3]["at"]

    events = ticket_events(_stored(client, ticket))
    status = [e for _, e in events if isinstance(e, TicketStatusChangedV1)]
    assert [e.seq for e in status] == [1, 2, 3, 4]
    assert status[2].public_note == "Đã cử đội kiểm tra"
    assert status[3].public_note is None  # internal notes never leave the tracker


def _stored(client, ticket):
    return client.application.extensions["tracker"].db[TICKETS].find_one(
        {"_id": ticket["_id"]})


def test_a_concurrent_change_is_a_conflict_not_a_lost_update(tdb, config, make_ticket, clock):
    from services.tracker.tickets.service import Conflict, transition
    from tests.tracker.conftest import TOKENS

    ticket = make_ticket()
    stale = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    handler = config.staff.authenticate(TOKENS["handler"])
    transition(db=tdb, config=config, principal=handler, ticket_id=ticket["_id"],
               to_state="in_progress", note=None, public=False, now=clock())
    with pytest.raises(Conflict):
        transition(db=tdb, config=config, principal=handler, ticket_id=ticket["_id"],
                   to_state="resolved", note=None, public=False, now=clock(), ticket=stale)
    assert tdb[TICKETS].find_one({"_id": ticket["_id"]})["state"] == "in_progress"


def test_reroute_moves_the_ticket_and_corrects_the_classifier(client, make_ticket):
    ticket = make_ticket(category="traffic", district="q3")
    resp = client.post(f"/api/v1/tickets/{ticket['_id']}/reroute",
                       json={"category": "electricity", "note": "Cột điện, không phải đèn"},
                       headers=auth("handler"))
    assert resp.status_code == 200, resp.json
    assert resp.json["department"] == "dien_luc" and resp.json["state"] == "assigned"
    assert [h["to_state"] for h in resp.json["history"][-2:]] == ["rejected", "assigned"]
    # the first department no longer sees it; the new one does
    assert client.get(f"/api/v1/tickets/{ticket['_id']}",
                      headers=auth("handler")).status_code == 404
    assert client.get(f"/api/v1/tickets/{ticket['_id']}",
                      headers=auth("other_handler")).status_code == 200
    corrections = [e for _, e in ticket_events(_stored(client, ticket))
                   if isinstance(e, TicketCorrectedV1)]
    assert len(corrections) == 1
    assert (corrections[0].old_category, corrections[0].new_category) == ("traffic",
                                                                         "electricity")
    assert corrections[0].text == ticket["description"]


def test_duplicates_are_suggested_and_linked(client, make_ticket, clock):
    original = make_ticket(category="flooding", district="q7",
                           description="Đường Nguyễn Hữu Thọ ngập nặng sau mưa, xe chết máy.")
    clock.advance(days=2)
    unrelated = make_ticket(category="flooding", district="q7",
                            description="Cống trên đường Huỳnh Tấn Phát bị mất nắp rất nguy hiểm.")
    similar = make_ticket(category="flooding", district="q7",
                          description="duong nguyen huu tho ngap nang sau mua xe chet may qua")
    other_district = make_ticket(category="flooding", district="q1",
                                 description="Đường Nguyễn Hữu Thọ ngập nặng sau mưa, xe chết máy.")
    assert [c["ticket_id"] for c in similar["duplicate_candidates"]] == [original["_id"]]
    assert unrelated["duplicate_candidates"] == []
    assert other_district["duplicate_candidates"] == []
    clock.advance(days=8)
    late = make_ticket(category="flooding", district="q7",
                       description="Đường Nguyễn Hữu Thọ ngập nặng sau mưa, xe chết máy.")
    assert original["_id"] not in [c["ticket_id"] for c in late["duplicate_candidates"]]

    handler = {"Authorization": "Bearer demo-handler-thoat_nuoc_do_thi"}
    linked = client.post(f"/api/v1/tickets/{similar['_id']}/duplicate",
                         json={"original_id": original["_id"]}, headers=handler)
    assert linked.status_code == 200, linked.json
    assert linked.json["state"] == "duplicate"
    assert linked.json["duplicate_of"] == original["tracking_code"]
    assert original["tracking_code"] in linked.json["history"][-1]["note"]


def test_citizen_rates_after_resolution_and_may_reopen_within_7_days(client, make_ticket,
                                                                      clock):
    ticket = make_ticket()
    code = ticket["tracking_code"]
    early = client.post(f"/api/v1/citizen/{code}/rating", json={"score": 5},
                        headers=auth("service"))
    assert early.status_code == 422
    assert move(client, ticket["_id"], "resolved", note="Đã sửa xong",
                public=True).status_code == 200
    clock.advance(days=6, hours=23)
    reopened = client.post(f"/api/v1/citizen/{code}/reopen",
                           json={"reason": "Đèn lại hỏng tiếp rồi"}, headers=auth("service"))
    assert reopened.status_code == 200 and reopened.json["state"] == "reopened"
    assert move(client, ticket["_id"], "resolved").status_code == 200
    rated = client.post(f"/api/v1/citizen/{code}/rating", json={"score": 4, "comment": "ok"},
                        headers=auth("service"))
    assert rated.json == {"tracking_code": code, "state": "closed", "rating": 4}
    twice = client.post(f"/api/v1/citizen/{code}/rating", json={"score": 1},
                        headers=auth("service"))
    assert twice.status_code == 422
    clock.advance(days=7, minutes=1)
    late = client.post(f"/api/v1/citizen/{code}/reopen", json={"reason": "Vẫn còn hỏng"},
                       headers=auth("service"))
    assert late.status_code == 422
    assert "7 days" in late.json["detail"]


def test_queue_is_ordered_by_nearest_deadline_and_filters(client, make_ticket, clock):
    normal = make_ticket(category="traffic")
    clock.advance(hours=1)
    urgent = make_ticket(category="construction", urgent=True)
    clock.advance(hours=1)
    later = make_ticket(category="traffic")
    queue = client.get("/api/v1/tickets", headers=auth("handler")).json
    assert [t["id"] for t in queue["items"]] == [urgent["_id"], normal["_id"], later["_id"]]
    waiting = move(client, normal["_id"], "waiting_citizen", note="Xin thêm ảnh", public=True)
    assert waiting.json["sla_state"] == "paused"
    assert waiting.json["expected_resolution_at"] is None
    queue = client.get("/api/v1/tickets", headers=auth("handler")).json
    assert queue["items"][-1]["id"] == normal["_id"]  # paused tickets sink to the end
    only_urgent = client.get("/api/v1/tickets?urgent=true", headers=auth("handler")).json
    assert [t["id"] for t in only_urgent["items"]] == [urgent["_id"]]
    bad = client.get("/api/v1/tickets?state=flying", headers=auth("handler"))
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "state"


def test_bulk_transition_reports_each_ticket(client, make_ticket):
    mine = [make_ticket(), make_ticket()]
    theirs = make_ticket(category="electricity")
    resp = client.post("/api/v1/tickets/bulk/transitions",
                       json={"ticket_ids": [mine[0]["_id"], mine[1]["_id"], theirs["_id"]],
                             "to": "in_progress", "note": "Tiếp nhận hàng loạt"},
                       headers=auth("handler"))
    assert resp.status_code == 200
    assert [(r["ticket_id"], r["status"]) for r in resp.json["results"]] == [
        (mine[0]["_id"], 200), (mine[1]["_id"], 200), (theirs["_id"], 404)]
    again = client.post("/api/v1/tickets/bulk/transitions",
                        json={"ticket_ids": [mine[0]["_id"]], "to": "assigned"},
                        headers=auth("handler"))
    assert again.json["results"][0]["status"] == 409


def test_supervisor_figures_and_csv(client, make_ticket, clock):
    on_time = make_ticket()
    late = make_ticket()
    open_one = make_ticket(category="electricity")
    clock.advance(hours=2)
    assert move(client, on_time["_id"], "resolved").status_code == 200
    clock.advance(days=30)
    assert move(client, late["_id"], "resolved").status_code == 200
    for code, score in ((on_time["tracking_code"], 5), (late["tracking_code"], 2)):
        assert client.post(f"/api/v1/citizen/{code}/rating", json={"score": score},
                           headers=auth("service")).status_code == 200
    stats = client.get("/api/v1/stats/departments", headers=auth("supervisor")).json
    rows = {r["department"]: r for r in stats["departments"]}
    xd = rows["so_xay_dung"]
    assert (xd["resolved"], xd["on_time_rate"], xd["satisfaction"], xd["backlog"]) == (
        2, 0.5, 0.5, 0)
    assert rows["dien_luc"]["backlog"] == 1 and rows["dien_luc"]["on_time_rate"] is None
    exported = client.get("/api/v1/stats/departments.csv", headers=auth("supervisor"))
    assert exported.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert {r["department"]: r["on_time_rate"] for r in table} == {"dien_luc": "",
                                                                   "so_xay_dung": "0.5"}
    assert open_one["_id"]


def test_bad_bodies_name_the_field(client, make_ticket):
    ticket = make_ticket()
    cases = [
        ({"to": "flying"}, "to"),
        ({"to": "resolved", "public": "yes"}, "public"),
        ({"to": "resolved", "extra": 1}, "extra"),
        ({"to": "resolved", "note": ""}, "note"),
    ]
    for body, field in cases:
        resp = client.post(f"/api/v1/tickets/{ticket['_id']}/transitions", json=body,
                           headers=auth("handler"))
        assert resp.status_code == 422, body
        assert resp.mimetype == "application/problem+json"
        assert field in resp.json["errors"][0]["field"], (body, resp.json)
    raw = client.post(f"/api/v1/tickets/{ticket['_id']}/transitions", data=b"{nope",
                      content_type="application/json", headers=auth("handler"))
    assert raw.status_code == 400
    assert _stored(client, ticket)["seq"] == ticket["seq"]


@pytest.mark.parametrize(("url", "field"), [("/api/v1/tickets?limit=", "limit"),
                                          ("/api/v1/stats/departments?days=", "days"),
                                          ("/api/v1/owners/stats?days=", "days")])
@pytest.mark.parametrize("value", ["²", "⑨", "x", "0"])
def test_a_bad_number_in_the_query_is_a_problem_naming_it(client, url, field, value):
    """'²' and '⑨' pass str.isdigit() but not int(): they were a 500."""
    resp = client.get(url + value, headers=auth("supervisor"))
    assert resp.status_code in (400, 422) and resp.mimetype == "application/problem+json"
    assert resp.json["errors"][0]["field"] == field


def test_a_batch_creates_once_and_sees_duplicates_inside_itself(tdb, config, clock):
    from services.tracker.tickets.service import create_many

    text = "Cống thoát nước trước nhà số 12 đường Trần Não bị nghẹt, nước tràn lên mặt đường."
    first = classified(at=clock(), category="flooding", district="thu_duc", description=text)
    again = classified(at=clock(), category="flooding", district="thu_duc",
                       description=text.lower())
    other = classified(at=clock(), category="traffic")
    results = create_many(db=tdb, config=config, events=[first, again, first, other],
                          now=clock())
    assert [created for _, created in results] == [True, True, True]
    by_id = {t["_id"]: t for t, _ in results}
    assert [c["ticket_id"] for c in by_id[again.report_id]["duplicate_candidates"]] == [
        first.report_id]
    replay = create_many(db=tdb, config=config, events=[other, first], now=clock())
    assert [created for _, created in replay] == [False, False]
    assert replay[0][0]["seq"] == 2 and tdb[TICKETS].count_documents({}) == 3


def test_the_call_center_operators_category_wins_and_corrects_the_classifier(make_ticket,
                                                                             client):
    confirmed = make_ticket(channel="call_center", category="traffic", category_hint="flooding",
                            needs_triage=True, confidence=0.4)
    assert (confirmed["category"], confirmed["state"], confirmed["department"]) == (
        "flooding", "assigned", "thoat_nuoc_do_thi")
    [correction] = [e for _, e in ticket_events(confirmed) if isinstance(e, TicketCorrectedV1)]
    assert (correction.old_category, correction.new_category) == ("traffic", "flooding")
    citizen_hint = make_ticket(channel="web", category="traffic", category_hint="flooding")
    assert citizen_hint["category"] == "traffic"  # a citizen's hint does not override
    agreed = make_ticket(channel="call_center", category="traffic", category_hint="traffic")
    assert not [e for _, e in ticket_events(agreed) if isinstance(e, TicketCorrectedV1)]
