"""`make simulate`: the month's plan, the handlers' office hours, the shared clock, and a
tiny month through the real running pipeline (nothing lost, the report files written)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.simulate.people import CITY, office_seconds, plan_work
from bench.simulate.report import markdown, percentile, write
from bench.simulate.run import simulate
from bench.simulate.world import CATEGORY_MIX, plan_month
from shared.clock import ClockControl, SharedClock, clock_from, system_clock
from shared.settings import Settings
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES

START = datetime(2026, 11, 2, tzinfo=CITY)  # a Monday


def test_the_category_mix_is_the_portals():
    assert abs(sum(CATEGORY_MIX.values()) - 1) < 1e-9
    assert set(CATEGORY_MIX) <= set(CATEGORY_CODES)
    plan = plan_month(reports=6000, surge=0, days=30, seed=7)
    share = sum(a.category == "admin_services" for a in plan.arrivals) / 6000
    assert 0.40 < share < 0.46


def test_the_day_has_the_city_rhythm():
    plan = plan_month(reports=6000, surge=0, days=28, seed=3)
    hours = [a.at.astimezone(CITY).hour for a in plan.arrivals]
    night = sum(h in (1, 2, 3, 4) for h in hours)
    morning = sum(h in (8, 9, 10, 11) for h in hours)
    assert morning > 10 * night
    weekdays = [a.at.astimezone(CITY).weekday() for a in plan.arrivals]
    assert weekdays.count(1) > 1.5 * weekdays.count(6)  # Tuesdays busier than Sundays


@settings(max_examples=25, deadline=None)
@given(reports=st.integers(1, 400), surge_share=st.floats(0, 1), days=st.integers(1, 31),
       seed=st.integers(0, 10_000))
def test_every_plan_has_its_reports_in_order_and_the_storm_in_its_window(
        reports, surge_share, days, seed):
    surge = int(reports * surge_share)
    plan = plan_month(reports=reports, surge=surge, days=days, seed=seed,
                      districts=DISTRICT_CODES)
    assert len(plan.arrivals) == reports
    assert [a.at for a in plan.arrivals] == sorted(a.at for a in plan.arrivals)
    storm = [a for a in plan.arrivals if a.surge]
    assert len(storm) == surge and all(a.category == "flooding" for a in storm)
    end = plan.surge_start + timedelta(hours=plan.surge_hours)
    assert all(plan.surge_start <= a.at <= end for a in storm)
    calm = [a for a in plan.arrivals if not a.surge]
    assert all(plan.start <= a.at < plan.start + timedelta(days=days) for a in calm)
    assert all(len(a.text) >= 10 for a in plan.arrivals)


def test_office_hours_are_the_citys():
    monday = START
    assert office_seconds(monday, monday + timedelta(days=1)) == 8 * 3600
    saturday = START + timedelta(days=5)
    assert office_seconds(saturday, saturday + timedelta(days=2)) == 0
    lunch = monday.replace(hour=11, minute=30)
    assert office_seconds(lunch, lunch + timedelta(minutes=90)) == 0
    assert office_seconds(monday, monday + timedelta(days=7)) == 40 * 3600


instants = st.integers(0, 14 * 24 * 60).map(lambda m: START + timedelta(minutes=m))


@given(a=instants, b=instants, c=instants)
def test_office_time_adds_up_and_never_exceeds_the_wall(a, b, c):
    a, b, c = sorted((a, b, c))
    assert 0 <= office_seconds(a, b) <= (b - a).total_seconds()
    assert office_seconds(a, c) == pytest.approx(office_seconds(a, b) + office_seconds(b, c))


@given(seed=st.integers(0, 10_000), urgent=st.booleans())
def test_work_answers_before_it_resolves(seed, urgent):
    import random

    work = plan_work(random.Random(seed), ticket_id="t", department="so_xay_dung",
                     urgent=urgent)
    moves = [work.advance(900) for _ in range(2000)]
    done = [m for m in moves if m]
    assert done and done[-1] == "resolved"
    assert done.count("in_progress") <= 1
    if "in_progress" in done:
        assert done.index("in_progress") < done.index("resolved")


def test_the_shared_clock_runs_stops_and_is_seen_by_another_process(tmp_path):
    start = datetime(2026, 11, 2, tzinfo=UTC)
    control = ClockControl(tmp_path / "clock", start)
    clock = SharedClock(tmp_path / "clock")
    assert clock() == start  # frozen until told to run
    control.run(at=start, speed=3600, until=start + timedelta(hours=2))
    read = subprocess.run(
        [sys.executable, "-c", "import sys; from shared.clock import SharedClock; "
         "print(SharedClock(sys.argv[1])().isoformat())", str(tmp_path / "clock")],
        capture_output=True, text=True, check=True).stdout.strip()
    seen = datetime.fromisoformat(read)
    assert start < seen <= start + timedelta(hours=2)
    later = start + timedelta(hours=2)
    import time

    time.sleep(2.1)  # 2.1 s at x3600: past the limit
    assert clock() == later
    control.run(at=later, speed=0, until=later)
    assert clock() == later
    control.close()


def test_settings_choose_the_clock(tmp_path):
    assert Settings.from_env({}).clock_file is None
    assert clock_from(None) is system_clock
    settings_ = Settings.from_env({"CLOCK_FILE": str(tmp_path / "c")})
    assert settings_.clock_file == tmp_path / "c"
    assert isinstance(clock_from(settings_.clock_file), SharedClock)


def test_percentiles():
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 50) == pytest.approx(50.5)


@pytest.mark.slow
@pytest.mark.parametrize("stores", [1, 2])
def test_a_tiny_month_through_the_running_pipeline_loses_nothing(tmp_path, stores):
    plan = plan_month(reports=200, surge=40, days=2, surge_day=1, seed=5,
                      districts=DISTRICT_CODES)
    results = simulate(plan, workdir=tmp_path / "run", progress=sys.stderr, stores=stores)
    assert results["refused"] == 0
    assert results["sent"] == results["reports_stored"] == 200
    assert results["lost"] == 0, results["unrouted"]
    assert not results["crashed"]
    assert len(results["surge_latency_sim_s"]) == 40
    assert results["moves"].get("resolved", 0) > 0
    assert sum(r["resolved"] + r["backlog"] for r in results["departments"]) \
        + results["without_department"] == 200
    # the services' indexes exist (the month once ran without them: every lookup scanned)
    assert {"tracking_code_1", "sla.next_check_at_1"} <= set(results["ticket_indexes"])
    # what the run cost: every process of the stack read, the store among them
    assert {"store", "broker", "intake", "tracker-worker"} <= set(results["cpu_seconds"])
    assert results["cpu_seconds"]["store"] > 0
    # the tracker processes' counters, read from their metrics: every resolve moved the figures
    moved = results["figure_transactions"]
    assert moved["runs"] >= moved["committed"] >= results["moves"]["resolved"] / 40
    assert results["stores"] == stores
    if stores == 2:  # the tracker's collections live on its own store, intake's on the other
        assert results["cpu_seconds"]["tracker-store"] > 0
        assert "tracker-store:simulation.tickets" in results["store_top"]
        assert "simulation.tickets" not in results["store_top"]
        assert "simulation.reports" in results["store_top"]
        assert not any(ns.startswith("tracker-store:simulation.reports")
                       for ns in results["store_top"])
    md, png = write(results, tmp_path / "out")
    assert md.exists() and png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = markdown(results)
    assert "**lost** (accepted, never routed to a ticket; or refused) | **0**" in text
    assert "CPU seconds" in text
    assert ("in the embedded store" if stores == 1 else "in two embedded stores") in text
