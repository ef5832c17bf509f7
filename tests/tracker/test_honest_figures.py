"""Issue 13, one test per defect: every path into a final state counts, a reopen is judged by
its last resolution, a paused breach stays a breach, the government's calendar, rules that
change while running, audited reopens and duplicate undos, a first-response clock per
receiving department, and poison events out of the partition."""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest

from services.tracker.__main__ import main
from services.tracker.config import load_config
from services.tracker.monitor import run_monitor, sweep
from services.tracker.sla.calendar import load_calendar
from services.tracker.staff import Principal
from services.tracker.stats.service import department_stats
from services.tracker.store import TICKETS
from services.tracker.tickets import service
from services.tracker.tickets.repository import TicketFilter, breaches, queue
from services.tracker.worker import run_worker
from shared.clock import system_clock
from shared.events import encode_event
from shared.kafka import make_producer
from shared.tickets import OPEN_STATES
from shared.topics import REPORTS_CLASSIFIED
from tests.helpers import running, wait_until
from tests.tracker.conftest import auth, classified
from tests.tracker.test_worker import dead_letter


def flagged_breaches(db) -> list[dict]:
    """Open tickets whose stored SLA state says breached (as of their last recompute)."""
    return list(db[TICKETS].find({"sla.breached": True, "state": {"$in": list(OPEN_STATES)}}))


SUPERVISOR = Principal(user="sup", role="supervisor")
CITIZEN = Principal(user="intake", role="service")


def handler_of(ticket: dict) -> Principal:
    return Principal(user="h", role="handler", department=ticket["department"])


def move(tdb, config, clock, ticket, to, principal=None, note=None):
    return service.transition(db=tdb, config=config, principal=principal or handler_of(ticket),
                              ticket_id=ticket["_id"], to_state=to, note=note, public=False,
                              now=clock())


def row(tdb, department):
    return next(r for r in department_stats(db=tdb) if r["department"] == department)


# --- defect 1: final states reached without `resolved` ----------------------------------


def test_waiting_citizen_then_closed_counts_in_the_figures(client, tdb, config, clock,
                                                           make_ticket):
    ticket = make_ticket(category="traffic")
    move(tdb, config, clock, ticket, "waiting_citizen")
    clock.advance(hours=1)
    move(tdb, config, clock, ticket, "closed")
    stats = client.get("/api/v1/stats/departments", headers=auth("supervisor")).json
    mine = next(r for r in stats["departments"] if r["department"] == ticket["department"])
    assert (mine["resolved"], mine["on_time_rate"], mine["backlog"]) == (1, 1.0, 0)


def test_a_duplicate_counts_through_its_original(tdb, config, clock, make_ticket):
    original = make_ticket(category="traffic")
    copy = make_ticket(category="traffic")
    service.mark_duplicate(db=tdb, config=config, principal=handler_of(copy),
                           ticket_id=copy["_id"], original_id=original["_id"], note=None,
                           now=clock())
    assert row(tdb, copy["department"])["resolved"] == 0  # its original is not finished
    clock.advance(days=14)  # well past the 40 working hours
    move(tdb, config, clock, original, "resolved")
    figures = row(tdb, copy["department"])
    assert (figures["resolved"], figures["on_time_rate"]) == (2, 0.0)  # both late


def test_rejected_then_finished_elsewhere_counts_for_the_receiving_department(
        tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")
    rerouted = service.reroute(db=tdb, config=config, principal=handler_of(ticket),
                               ticket_id=ticket["_id"], category=None, department="dien_luc",
                               note="không thuộc thẩm quyền", now=clock())
    move(tdb, config, clock, rerouted, "waiting_citizen")
    move(tdb, config, clock, rerouted, "closed")
    assert row(tdb, "dien_luc")["resolved"] == 1
    assert row(tdb, ticket["department"])["resolved"] == 0


def test_a_supervisor_undoes_a_wrong_duplicate_mark_and_it_is_audited(client, tdb, config,
                                                                      clock, make_ticket):
    original, ticket = make_ticket(), make_ticket()
    move(tdb, config, clock, ticket, "in_progress")
    service.mark_duplicate(db=tdb, config=config, principal=handler_of(ticket),
                           ticket_id=ticket["_id"], original_id=original["_id"], note=None,
                           now=clock())
    url = f"/api/v1/tickets/{ticket['_id']}/transitions"
    assert client.post(url, json={"to": "in_progress", "note": "không trùng"},
                       headers=auth("handler")).status_code == 403
    assert client.post(url, json={"to": "in_progress"},
                       headers=auth("supervisor")).status_code == 422  # no reason given
    resp = client.post(url, json={"to": "in_progress", "note": "Khác địa chỉ, không trùng"},
                       headers=auth("supervisor"))
    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "in_progress" and resp.json["duplicate_of"] is None
    last = resp.json["history"][-1]
    assert (last["from_state"], last["role"], last["exception"]) == \
        ("duplicate", "supervisor", "duplicate_undone")
    # the wrong mark stopped no clock: 10 days later it is late and an open breach
    clock.advance(days=10)
    sweep(db=tdb, config=config, now=clock())
    assert ticket["_id"] in {t["_id"] for t in flagged_breaches(tdb)}


# --- defect 2: a reopen is judged by the last resolution -----------------------------------


def test_resolved_on_time_reopened_then_late_counts_as_late(tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")
    ticket = move(tdb, config, clock, ticket, "resolved")
    assert row(tdb, ticket["department"])["on_time_rate"] == 1.0
    clock.advance(days=1)
    service.reopen(db=tdb, config=config, principal=CITIZEN,
                   tracking_code=ticket["tracking_code"], reason="Đèn vẫn hỏng", now=clock())
    reopened = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    assert row(tdb, ticket["department"])["resolved"] == 0
    clock.advance(days=14)
    move(tdb, config, clock, reopened, "resolved")
    figures = row(tdb, ticket["department"])
    assert (figures["resolved"], figures["on_time_rate"]) == (1, 0.0)


# --- defect 3: breached while paused -------------------------------------------------------


def test_a_breached_ticket_waiting_for_the_citizen_stays_breached(client, tdb, config, clock,
                                                                  make_ticket):
    ticket = make_ticket(category="fire_safety", district=None, urgent=True)  # 8 h, 24/7
    clock.advance(hours=9)
    paused = move(tdb, config, clock, ticket, "waiting_citizen")
    assert paused["sla"]["state"] == "breached" and paused["sla"]["breached"]
    assert [t["_id"] for t in flagged_breaches(tdb)] == [ticket["_id"]]
    assert [t["_id"] for t in breaches(tdb, now=clock(), limit=10)] == [ticket["_id"]]
    listed = client.get("/api/v1/breaches", headers=auth("supervisor")).json
    assert [t["id"] for t in listed["items"]] == [ticket["_id"]]


def test_the_queue_orders_paused_tickets_by_their_due(tdb, config, clock, make_ticket):
    late = make_ticket(category="traffic")
    clock.advance(hours=1)
    later = make_ticket(category="traffic")
    move(tdb, config, clock, late, "in_progress")
    move(tdb, config, clock, later, "in_progress")
    move(tdb, config, clock, late, "waiting_citizen")  # paused, due before `later`
    docs, _ = queue(tdb, principal=handler_of(late), filters=TicketFilter(), limit=10,
                    offset=0)
    assert [d["_id"] for d in docs] == [late["_id"], later["_id"]]
    # nor does a paused ticket that is not late appear in the live breach list later on
    clock.advance(days=30)
    assert late["_id"] not in {t["_id"] for t in breaches(tdb, now=clock(), limit=10)}


# --- defect 4: the government's calendar ---------------------------------------------------


def test_make_up_saturdays_and_the_2026_swap():
    calendar = load_calendar()
    assert calendar.is_working_day(date(2026, 8, 22))  # a Saturday the holidays package lists
    assert not calendar.is_working_day(date(2026, 8, 31))
    assert not calendar.is_working_day(date(2026, 1, 2))  # Friday off (config) ...
    assert calendar.is_working_day(date(2026, 1, 10))  # ... for Saturday 10 January


def test_calendar_command_prints_the_engine_s_days(capsys):
    assert main(["calendar", "--year", "2026", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected_off = {"2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19",
                    "2026-02-20", "2026-04-27", "2026-09-02"}
    assert expected_off <= set(out["days_off"])
    assert "2026-08-22" in out["working_weekend_days"]
    assert "2026-01-10" in out["working_weekend_days"]
    assert "2026-04-26" not in out["days_off"]  # a Sunday is no day off to announce
    assert main(["calendar", "--year", "2026"]) == 0
    assert "2026-08-22" in capsys.readouterr().out


# --- defect 5: rules that change while running ---------------------------------------------


@pytest.fixture
def config_dir(tmp_path, settings):
    folder = tmp_path / "config"
    shutil.copytree(settings.tracker_config_dir, folder)
    return folder


def test_the_fingerprint_follows_the_holidays_version(settings, monkeypatch):
    before = load_config(settings).fingerprint
    monkeypatch.setattr("services.tracker.config.holidays_version", lambda: "9999.1")
    assert load_config(settings).fingerprint != before


def test_an_edited_sla_file_reaches_open_tickets_without_restart(tdb, settings, config_dir,
                                                                 make_ticket):
    from services.tracker.config import ConfigSource

    ticket = make_ticket(category="fire_safety", district=None, urgent=True)  # 8 h resolution
    source = ConfigSource(replace(settings, tracker_config_dir=config_dir), check_s=0.2)

    def due() -> datetime:
        return tdb[TICKETS].find_one({"_id": ticket["_id"]})["expected_resolution_at"]

    before = due()
    sla = json.loads((config_dir / "sla.json").read_text(encoding="utf-8"))
    stop = threading.Event()
    monitor = threading.Thread(target=run_monitor, args=(stop,), daemon=True, kwargs={
        "db": tdb, "config": source, "clock": lambda: ticket["created_at"],
        "interval_s": 0.1})
    monitor.start()
    try:
        time.sleep(0.5)  # running with the old rules
        sla["defaults"]["urgent"]["resolution"] = "4h"
        (config_dir / "sla.json").write_text(json.dumps(sla), encoding="utf-8")
        assert wait_until(lambda: due() == before - timedelta(hours=4), 10, 0.1)
    finally:
        stop.set()
        monitor.join(10)


def test_a_bad_edit_keeps_the_last_good_configuration(settings, config_dir):
    from services.tracker.config import ConfigSource

    now = [0.0]
    source = ConfigSource(replace(settings, tracker_config_dir=config_dir), check_s=30,
                          monotonic=lambda: now[0])
    good = source.current()
    (config_dir / "calendar.json").write_text("{not json", encoding="utf-8")
    now[0] = 31
    assert source.current() is good


# --- defect 6: audited late reopens, first response per receiving department ----------------


def test_a_reopen_after_the_window_needs_a_supervisor_and_a_reason(client, tdb, config, clock,
                                                                   make_ticket):
    ticket = make_ticket()
    move(tdb, config, clock, ticket, "resolved")
    clock.advance(days=400)
    url = f"/api/v1/tickets/{ticket['_id']}/transitions"
    assert client.post(url, json={"to": "reopened"},
                       headers=auth("supervisor")).status_code == 422
    assert client.post(url, json={"to": "reopened", "note": "x"},
                       headers=auth("handler")).status_code == 403
    citizen = client.post(f"/api/v1/citizen/{ticket['tracking_code']}/reopen",
                          json={"reason": "vẫn còn hỏng"}, headers=auth("service"))
    assert citizen.status_code == 422
    resp = client.post(url, json={"to": "reopened", "note": "Báo chí phản ánh lại"},
                       headers=auth("supervisor"))
    assert resp.status_code == 200
    assert resp.json["history"][-1]["exception"] == "reopen_after_window"


def test_a_reopen_within_the_window_is_no_exception(tdb, config, clock, make_ticket):
    ticket = move(tdb, config, clock, make_ticket(), "resolved")
    clock.advance(days=2)
    reopened = move(tdb, config, clock, ticket, "reopened", principal=SUPERVISOR)
    assert "exception" not in reopened["history"][-1]


def test_a_rerouted_ticket_gets_a_first_response_clock_in_its_new_department(
        tdb, config, clock, make_ticket):
    ticket = make_ticket(category="traffic")  # so_xay_dung, 4 business hours
    clock.advance(hours=1)
    rerouted = service.reroute(db=tdb, config=config, principal=handler_of(ticket),
                               ticket_id=ticket["_id"], category=None, department="dien_luc",
                               note="điện", now=clock())
    first = rerouted["sla"]["clocks"]["first_response"]
    assert first["running"] and first["elapsed_s"] == 0
    assert first["due_at"] == config.business.add(clock(), timedelta(hours=4))
    assert [e["department"] for e in rerouted["first_responses"]] == ["so_xay_dung", "dien_luc"]
    clock.advance(days=3)
    sweep(db=tdb, config=config, now=clock())
    assert ticket["_id"] in {t["_id"] for t in flagged_breaches(tdb)}
    move(tdb, config, clock, rerouted, "in_progress")
    assert (row(tdb, "dien_luc")["first_responses"],
            row(tdb, "dien_luc")["first_response_on_time_rate"]) == (1, 0.0)
    assert row(tdb, "so_xay_dung")["first_response_on_time_rate"] == 1.0


# --- defect 7: poison events ---------------------------------------------------------------


def test_an_event_without_a_time_zone_goes_to_the_dead_letters(settings, tdb, config):
    naive = classified(at=datetime(2026, 11, 23, 9, 0))  # no tzinfo
    good = classified(at=datetime.now(UTC))
    producer = make_producer(settings)
    for event in (naive, good):
        producer.send(REPORTS_CLASSIFIED, key=event.report_id.encode(),
                      value=encode_event(event))
    producer.flush()
    producer.close()
    worker = partial(run_worker, settings=settings, db=tdb, config=config, clock=system_clock,
                     group_id=f"tracker-{uuid.uuid4().hex[:6]}")
    with running(worker):
        assert wait_until(lambda: tdb[TICKETS].count_documents({"_id": good.report_id}) == 1,
                          60, 0.2)
        dead = dead_letter(settings.kafka_bootstrap, naive.report_id.encode())
    assert dead is not None
    assert dict(dead.headers)["error"] == b"submitted_at has no time zone"
    assert tdb[TICKETS].count_documents({"_id": naive.report_id}) == 0


def test_tickets_stored_before_the_outcome_fields_get_them_from_their_history(
        tdb, config, clock, make_ticket):
    from services.tracker.monitor import reconcile

    ticket = make_ticket(category="traffic")
    move(tdb, config, clock, ticket, "waiting_citizen")
    move(tdb, config, clock, ticket, "closed")
    tdb[TICKETS].update_one({"_id": ticket["_id"]}, {"$unset": {
        "finished_at": "", "finished_on_time": "", "first_responses": ""}})
    assert department_stats(db=tdb) == []
    assert reconcile(db=tdb, config=config, now=clock()) == 1
    assert row(tdb, ticket["department"])["resolved"] == 1


def test_any_event_that_cannot_become_a_ticket_is_set_aside_and_the_rest_stored(
        tdb, config, clock, monkeypatch):
    from types import SimpleNamespace

    import services.tracker.tickets.service as tickets_service
    from services.tracker.worker import tracker_consumer
    from shared.consumer import Consumer
    from shared.settings import Settings

    bad, good = classified(at=clock()), classified(at=clock())
    real = tickets_service.new_ticket

    def new_ticket(*, config, event, now):
        if event.report_id == bad.report_id:
            raise KeyError("a routing table entry that is not there")
        return real(config=config, event=event, now=now)

    monkeypatch.setattr(tickets_service, "new_ticket", new_ticket)
    records = [SimpleNamespace(value=encode_event(e), key=e.report_id.encode(),
                               topic=REPORTS_CLASSIFIED, partition=0, offset=i)
               for i, e in enumerate((bad, good))]
    settled = Consumer(tracker_consumer(db=tdb, config=config),
                       settings=Settings()).settle(records, now=clock())
    assert [(d.offset, d.reason.split(":")[0]) for d in settled.dead] == \
        [(0, "cannot be applied")]
    assert "KeyError" in settled.dead[0].reason and settled.processed == 1
    assert tdb[TICKETS].count_documents({"_id": good.report_id}) == 1
