"""SLA deadlines: business calendar arithmetic, the two ticket clocks, and their configuration.

Expected instants are written literally in city time (Asia/Ho_Chi_Minh, UTC+7) and worked out
by hand: working windows 07:30-11:30 and 13:00-17:00 (8 h a day), Monday to Friday, minus
Vietnamese public holidays. December 2026 has no public holiday; 2026-11-24 (Vietnam Cultural
Day) and 2027-02-04..10 (Tết) are holidays.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.tracker.sla.calendar import (
    CALENDAR_PATH,
    BusinessCalendar,
    Calendar,
    ContinuousCalendar,
    calendar_from_config,
    load_calendar,
    public_holidays,
)
from services.tracker.sla.clocks import (
    FIRST_RESPONSE,
    RESOLUTION,
    ClockStatus,
    StateChange,
    compute_clocks,
)
from services.tracker.sla.policy import (
    SLA_PATH,
    Targets,
    load_policies,
    parse_duration,
    policies_from_config,
)

CITY = ZoneInfo("Asia/Ho_Chi_Minh")


def next_check_at(clocks: dict[str, ClockStatus], *, now: datetime) -> datetime | None:
    """The earliest warn/due/escalate instant of a running clock later than `now`: what the
    clocks promise the monitor (summary.pending_levels reads the same instants)."""
    pending = [instant for clock in clocks.values() if clock.running
               for instant in (clock.warn_at, clock.due_at, clock.escalate_at)
               if instant is not None and instant > now]
    return min(pending, default=None)


def levels_reached(clock: ClockStatus, *, now: datetime) -> list[str]:
    """The alert levels whose instant has come by `now`, in order (a level is reached exactly
    when elapsed >= its threshold)."""
    instants = (clock.warn_at, clock.due_at, clock.escalate_at)
    return [level for level, instant in zip(("warning", "breach", "escalation"), instants,
                                            strict=True)
            if instant is not None and instant <= now]
BUSINESS = BusinessCalendar()
MAKEUP_SAT = BusinessCalendar(makeup_days=frozenset({date(2026, 12, 12)}))
MONDAY_OFF = BusinessCalendar(extra_days_off=frozenset({date(2026, 12, 14)}))
ALWAYS = ContinuousCalendar()
NORMAL = Targets(first_response=timedelta(hours=4), resolution=timedelta(hours=40))
URGENT = Targets(first_response=timedelta(hours=1), resolution=timedelta(hours=8))
H = timedelta(hours=1)
M = timedelta(minutes=1)


def vn(text: str) -> datetime:
    """'YYYY-MM-DD HH:MM' in city time."""
    return datetime.fromisoformat(text).replace(tzinfo=CITY)


def changes(*entries: tuple[str, str]) -> list[StateChange]:
    return [StateChange(at=vn(at), to_state=state) for at, state in entries]


# --- calendar: add --------------------------------------------------------------------------

ADD_CASES = [
    # Mon 10:30 + 2h: 1h to 11:30, lunch, 1h from 13:00
    ("lunch break", BUSINESS, "2026-12-07 10:30", 2 * H, "2026-12-07 14:00"),
    # Mon 10:30 + 1h ends exactly at the closing: the closing, not the next opening
    ("ends at closing", BUSINESS, "2026-12-07 10:30", 1 * H, "2026-12-07 11:30"),
    # Fri 15:00 + 4h: 2h to 17:00, Sat+Sun off, Mon 07:30 + 2h
    ("weekend", BUSINESS, "2026-12-11 15:00", 4 * H, "2026-12-14 09:30"),
    # Wed 15:00 + 4h: 2h Wed, Thu 4 Feb..Wed 10 Feb Tết, Thu 11 Feb 07:30 + 2h
    ("Tết 2027", BUSINESS, "2027-02-03 15:00", 4 * H, "2027-02-11 09:30"),
    # Mon 09:00 + 40h: 6.5h Mon + 4 x 8h Tue-Fri = 38.5h, Mon 07:30 + 1.5h
    ("40 business hours", BUSINESS, "2026-12-07 09:00", 40 * H, "2026-12-14 09:00"),
    # Fri 15:00 + 4h: 2h Fri, make-up Saturday 12 Dec 07:30 + 2h
    ("make-up Saturday", MAKEUP_SAT, "2026-12-11 15:00", 4 * H, "2026-12-12 09:30"),
    # Fri 15:00 + 4h: 2h Fri, weekend, Mon 14 Dec off, Tue 07:30 + 2h
    ("extra day off", MONDAY_OFF, "2026-12-11 15:00", 4 * H, "2026-12-15 09:30"),
    # Mon 19:00 (evening): counting starts Tue 07:30, + 1h
    ("start evening", BUSINESS, "2026-12-07 19:00", 1 * H, "2026-12-08 08:30"),
    # Sun 10:00: counting starts Mon 07:30, + 1h
    ("start Sunday", BUSINESS, "2026-12-13 10:00", 1 * H, "2026-12-14 08:30"),
    # Tue 24 Nov 2026 is Vietnam Cultural Day: counting starts Wed 07:30, + 1h
    ("start holiday", BUSINESS, "2026-11-24 09:00", 1 * H, "2026-11-25 08:30"),
    # Fri 1 Jan 2027 New Year, weekend: counting starts Mon 4 Jan 07:30, + 1h
    ("start New Year", BUSINESS, "2027-01-01 09:00", 1 * H, "2027-01-04 08:30"),
    # Mon 06:00, before opening: 07:30 + 30m
    ("start before opening", BUSINESS, "2026-12-07 06:00", 30 * M, "2026-12-07 08:00"),
    # Mon 12:00, lunch: 13:00 + 30m
    ("start at lunch", BUSINESS, "2026-12-07 12:00", 30 * M, "2026-12-07 13:30"),
    # 24/7: Fri 20:00 + 8h runs through the night into Saturday
    ("urgent 24/7", ALWAYS, "2026-12-11 20:00", 8 * H, "2026-12-12 04:00"),
]


@pytest.mark.parametrize(
    ("calendar", "start", "amount", "expected"),
    [case[1:] for case in ADD_CASES],
    ids=[case[0] for case in ADD_CASES],
)
def test_add(calendar: Calendar, start: str, amount: timedelta, expected: str) -> None:
    result = calendar.add(vn(start), amount)
    assert result == vn(expected)
    assert result.tzinfo is UTC


def test_add_zero_returns_start_even_outside_hours() -> None:
    # Chosen behaviour: nothing has to elapse, so the start itself (in UTC), not the next opening
    assert BUSINESS.add(vn("2026-12-13 10:00"), timedelta(0)) == vn("2026-12-13 10:00")
    assert ALWAYS.add(vn("2026-12-13 10:00"), timedelta(0)) == vn("2026-12-13 10:00")


def test_add_accepts_any_time_zone() -> None:
    # 01:00 UTC is 08:00 in the city; + 1h is 09:00 city time, 02:00 UTC
    result = BUSINESS.add(datetime(2026, 12, 7, 1, 0, tzinfo=UTC), H)
    assert result == datetime(2026, 12, 7, 2, 0, tzinfo=UTC) == vn("2026-12-07 09:00")


@pytest.mark.parametrize("calendar", [BUSINESS, ALWAYS], ids=["business", "24/7"])
def test_bad_arguments(calendar: Calendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        calendar.add(datetime(2026, 12, 7, 9, 0), H)
    with pytest.raises(ValueError, match="aware"):
        calendar.between(vn("2026-12-07 09:00"), datetime(2026, 12, 8, 9, 0))
    with pytest.raises(ValueError, match="negative"):
        calendar.add(vn("2026-12-07 09:00"), -H)


# --- calendar: between ----------------------------------------------------------------------

BETWEEN_CASES = [
    # Fri 15:00-17:00 2h + Mon 07:30-09:30 2h
    ("weekend", BUSINESS, "2026-12-11 15:00", "2026-12-14 09:30", 4 * H),
    # 11:00-11:30 + 13:00-13:30
    ("lunch break", BUSINESS, "2026-12-07 11:00", "2026-12-07 13:30", 1 * H),
    # Wed 3 Feb 08:00-17:00 7.5h, Tết, Thu 11 Feb 07:30-08:00 0.5h
    ("Tết 2027", BUSINESS, "2027-02-03 08:00", "2027-02-11 08:00", 8 * H),
    # the make-up Saturday counts its full 8h
    ("make-up Saturday", MAKEUP_SAT, "2026-12-12 00:00", "2026-12-13 00:00", 8 * H),
    # Mon 14 Dec off: Fri 17:00 to Tue 07:30 is nothing
    ("extra day off", MONDAY_OFF, "2026-12-11 17:00", "2026-12-15 07:30", timedelta(0)),
    ("end before start", BUSINESS, "2026-12-08 09:00", "2026-12-07 09:00", timedelta(0)),
    # 2027: 261 weekdays - 12 weekday holidays = 249 working days x 8h
    ("year 2027", BUSINESS, "2027-01-01 00:00", "2028-01-01 00:00", 1992 * H),
    # 24/7: Sat 22:00 to Mon 06:00 is 32h
    ("urgent 24/7", ALWAYS, "2026-12-12 22:00", "2026-12-14 06:00", 32 * H),
]


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [case[1:] for case in BETWEEN_CASES],
    ids=[case[0] for case in BETWEEN_CASES],
)
def test_between(calendar: Calendar, start: str, end: str, expected: timedelta) -> None:
    assert calendar.between(vn(start), vn(end)) == expected


def test_tet_2027_comes_from_the_holidays_package() -> None:
    tet = {date(2027, 2, d) for d in range(4, 11)}
    assert tet <= public_holidays("VN", 2027)
    assert [BUSINESS.is_working_day(date(2027, 2, d)) for d in range(3, 12)] == [
        True, False, False, False, False, False, False, False, True,
    ]  # fmt: skip


def test_calendar_is_hashable_and_holidays_are_cached_per_year() -> None:
    assert hash(BUSINESS) == hash(BusinessCalendar())
    assert len({BUSINESS, BusinessCalendar(), MAKEUP_SAT}) == 2
    BUSINESS.is_working_day(date(2027, 3, 1))
    hits = public_holidays.cache_info().hits
    BUSINESS.is_working_day(date(2027, 3, 2))
    assert public_holidays.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    "calendar", [BUSINESS, MAKEUP_SAT, MONDAY_OFF, ALWAYS], ids=["vn", "makeup", "off", "24/7"]
)
def test_add_and_between_are_inverse(calendar: Calendar) -> None:
    rng = random.Random(1022)
    origin = vn("2026-11-01 00:00")  # the range covers Vietnam Cultural Day and Tết 2027
    for _ in range(400):
        start = origin + timedelta(seconds=rng.randrange(200 * 24 * 3600))
        amount = timedelta(seconds=rng.randrange(0, 120 * 3600))
        end = calendar.add(start, amount)
        assert end >= start
        assert calendar.between(start, end) == amount
        later = start + timedelta(seconds=rng.randrange(30 * 24 * 3600))
        worked = calendar.between(start, later)
        reached = calendar.add(start, worked)
        assert reached <= later
        assert calendar.between(reached, later) == timedelta(0)


# --- clocks ---------------------------------------------------------------------------------

PAUSED_TICKET = changes(
    ("2026-12-07 08:10", "triage"),
    ("2026-12-07 08:30", "assigned"),
    ("2026-12-07 10:00", "in_progress"),
    ("2026-12-08 09:00", "waiting_citizen"),
    ("2026-12-09 09:00", "in_progress"),
)


def test_pause_in_waiting_citizen_moves_resolution_deadline() -> None:
    clocks = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=PAUSED_TICKET,
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-09 10:00"),
    )
    first, res = clocks[FIRST_RESPONSE], clocks[RESOLUTION]
    # first response stopped at in_progress: Mon 08:00-10:00 = 2h, met
    assert (first.running, first.stopped_at, first.elapsed, first.breached) == (
        False, vn("2026-12-07 10:00"), 2 * H, False,
    )  # fmt: skip
    assert (first.warn_at, first.due_at, first.escalate_at) == (None, None, None)
    # Mon 08:00-17:00 7.5h + Tue 07:30-09:00 1.5h + Wed 09:00-10:00 1h
    assert (res.running, res.paused, res.elapsed) == (True, False, 10 * H)
    # unpaused it was due Mon 14 Dec 08:00; 8 business hours paused (Tue 09:00-Wed 09:00)
    # move it one working day: 31h left from Wed 09:00 = 6.5 + 8 + 8 + 8 + 0.5
    assert res.due_at == vn("2026-12-15 08:00")
    # warning at 30h: 21h left from Wed 09:00 = 6.5 Wed + 8 Thu + Fri 07:30 + 6.5h
    assert res.warn_at == vn("2026-12-11 15:30")
    # escalation at 60h: 51h left = 6.5 + 8 x 5 (Thu-Wed) + Thu 17 Dec 07:30 + 4.5h
    assert res.escalate_at == vn("2026-12-17 13:30")
    assert next_check_at(clocks, now=vn("2026-12-09 10:00")) == vn("2026-12-11 15:30")


def test_while_waiting_citizen_the_resolution_clock_is_paused() -> None:
    clocks = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=PAUSED_TICKET,  # the 'in_progress' of Wednesday is after now: ignored
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-08 15:00"),
    )
    res = clocks[RESOLUTION]
    # Mon 7.5h + Tue 07:30-09:00 1.5h, then nothing counts
    assert (res.running, res.paused, res.stopped_at, res.elapsed) == (False, True, None, 9 * H)
    assert (res.warn_at, res.due_at, res.escalate_at) == (None, None, None)
    assert next_check_at(clocks, now=vn("2026-12-08 15:00")) is None


def test_warning_breach_and_escalation_instants() -> None:
    clocks = compute_clocks(
        started_at=vn("2026-12-07 10:00"),
        history=[],
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-08 10:00"),
    )
    first = clocks[FIRST_RESPONSE]
    # 3h: 10:00-11:30 1.5h + 13:00 + 1.5h
    assert first.warn_at == vn("2026-12-07 14:30")
    # 4h: 1.5h + 13:00 + 2.5h
    assert first.due_at == vn("2026-12-07 15:30")
    # 6h: Mon 5.5h to 17:00, Tue 07:30 + 0.5h
    assert first.escalate_at == vn("2026-12-08 08:00")
    # Mon 5.5h + Tue 07:30-10:00 2.5h
    assert (first.elapsed, first.elapsed / first.target, first.breached) == (8 * H, 2.0, True)
    assert levels_reached(first, now=vn("2026-12-08 10:00")) == ["warning", "breach", "escalation"]
    # resolution warning at 30h: Mon 5.5 + Tue-Thu 24 = 29.5h, Fri 07:30 + 0.5h
    assert next_check_at(clocks, now=vn("2026-12-08 10:00")) == vn("2026-12-11 08:00")


def test_levels_of_a_running_clock_follow_now() -> None:
    early = compute_clocks(
        started_at=vn("2026-12-07 10:00"),
        history=[],
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-07 11:00"),
    )[FIRST_RESPONSE]
    assert levels_reached(early, now=vn("2026-12-07 14:29")) == []
    # ">=" everywhere: the warning instant itself counts, and so does the due instant
    assert levels_reached(early, now=vn("2026-12-07 14:30")) == ["warning"]
    assert levels_reached(early, now=vn("2026-12-07 15:30")) == ["warning", "breach"]


def test_threshold_crossed_in_an_earlier_segment() -> None:
    clocks = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=changes(
            ("2026-12-07 14:00", "waiting_citizen"), ("2026-12-08 08:00", "in_progress")
        ),
        targets=Targets(first_response=1 * H, resolution=4 * H),
        calendar=BUSINESS,
        now=vn("2026-12-08 09:00"),
    )
    first, res = clocks[FIRST_RESPONSE], clocks[RESOLUTION]
    # first response stopped late at 14:00: 08:00-11:30 3.5h + 13:00-14:00 1h
    assert first.stopped_at == vn("2026-12-07 14:00")
    assert (first.elapsed, first.breached) == (270 * M, True)
    # passed thresholds keep their instants: 45m -> 08:45, 1h -> 09:00, 1.5h -> 09:30
    assert (first.warn_at, first.due_at, first.escalate_at) == (
        vn("2026-12-07 08:45"), vn("2026-12-07 09:00"), vn("2026-12-07 09:30"),
    )  # fmt: skip
    assert levels_reached(first, now=vn("2026-12-08 09:00")) == ["warning", "breach", "escalation"]
    # resolution: first segment 4.5h; 3h at 11:00, 4h at 13:30 (3.5h + 0.5h)
    assert (res.warn_at, res.due_at) == (vn("2026-12-07 11:00"), vn("2026-12-07 13:30"))
    # 6h: 1.5h left when counting resumed Tue 08:00
    assert res.escalate_at == vn("2026-12-08 09:30")
    assert (res.elapsed, res.breached) == (330 * M, True)
    assert levels_reached(res, now=vn("2026-12-08 09:00")) == ["warning", "breach"]
    assert next_check_at(clocks, now=vn("2026-12-08 09:00")) == vn("2026-12-08 09:30")


def test_urgent_ticket_counts_nights_and_weekends() -> None:
    clocks = compute_clocks(
        started_at=vn("2026-12-12 22:00"),  # Saturday night
        history=changes(("2026-12-13 00:30", "in_progress")),
        targets=URGENT,
        calendar=ALWAYS,
        now=vn("2026-12-13 01:00"),
    )
    first, res = clocks[FIRST_RESPONSE], clocks[RESOLUTION]
    # 22:00 -> 00:30 is 2.5h against 1h: late; 45m, 1h, 1.5h after 22:00
    assert (first.elapsed, first.breached) == (150 * M, True)
    assert (first.warn_at, first.due_at, first.escalate_at) == (
        vn("2026-12-12 22:45"), vn("2026-12-12 23:00"), vn("2026-12-12 23:30"),
    )  # fmt: skip
    # resolution 8h: 6h, 8h, 12h after Sat 22:00
    assert res.elapsed == 3 * H
    assert (res.warn_at, res.due_at, res.escalate_at) == (
        vn("2026-12-13 04:00"), vn("2026-12-13 06:00"), vn("2026-12-13 10:00"),
    )  # fmt: skip


def test_policy_change_on_an_open_ticket() -> None:
    raw = json.loads(SLA_PATH.read_text(encoding="utf-8"))
    before = policies_from_config(raw)
    raw["defaults"]["normal"]["resolution"] = "24h"
    after = policies_from_config(raw)
    kwargs = {
        "started_at": vn("2026-12-07 09:00"),
        "history": changes(("2026-12-07 09:30", "assigned")),
        "calendar": BUSINESS,
        "now": vn("2026-12-07 10:00"),
    }
    old = compute_clocks(targets=before.targets_for(category="traffic", urgent=False), **kwargs)
    new = compute_clocks(targets=after.targets_for(category="traffic", urgent=False), **kwargs)
    # 40h = five working days later; 24h = three working days later
    assert old[RESOLUTION].due_at == vn("2026-12-14 09:00")
    assert new[RESOLUTION].due_at == vn("2026-12-10 09:00")
    # 18h: Mon 09:00-17:00 6.5h + Tue 8h + Wed 07:30 + 3.5h
    assert new[RESOLUTION].warn_at == vn("2026-12-09 11:00")
    assert new[FIRST_RESPONSE] == old[FIRST_RESPONSE]


def test_reopen_after_resolved_keeps_elapsed_time() -> None:
    history = changes(
        ("2026-12-07 09:00", "in_progress"),
        ("2026-12-08 08:00", "resolved"),
        ("2026-12-10 08:00", "reopened"),
    )
    resolved = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=history,
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-09 12:00"),
    )[RESOLUTION]
    # Mon 08:00-17:00 7.5h + Tue 07:30-08:00 0.5h, stopped
    assert (resolved.running, resolved.paused, resolved.stopped_at) == (
        False, False, vn("2026-12-08 08:00"),
    )  # fmt: skip
    assert (resolved.elapsed, resolved.due_at, resolved.breached) == (8 * H, None, False)
    clocks = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=history,
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-10 10:00"),
    )
    res = clocks[RESOLUTION]
    # 8h + Thu 08:00-10:00 2h
    assert (res.running, res.stopped_at, res.elapsed) == (True, None, 10 * H)
    # 32h left from Thu 08:00: 7.5 Thu + 8 Fri + 8 Mon + 8 Tue, Wed 07:30 + 0.5h
    assert res.due_at == vn("2026-12-16 08:00")
    # the first response stays stopped at the first in_progress (1h, met)
    first = clocks[FIRST_RESPONSE]
    assert (first.stopped_at, first.elapsed, first.running) == (vn("2026-12-07 09:00"), H, False)


def test_closed_after_resolved_stays_stopped_since_the_resolution() -> None:
    res = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=changes(("2026-12-07 09:00", "resolved"), ("2026-12-09 09:00", "closed")),
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-10 09:00"),
    )[RESOLUTION]
    assert (res.stopped_at, res.elapsed, res.running) == (vn("2026-12-07 09:00"), H, False)


def test_rejected_and_triage_keep_the_resolution_clock_running() -> None:
    clocks = compute_clocks(
        started_at=vn("2026-12-07 08:00"),
        history=changes(("2026-12-07 08:30", "triage"), ("2026-12-07 09:00", "rejected")),
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-07 10:00"),
    )
    # rejected answers the citizen (first response 1h) but the city's clock runs on (2h)
    assert (clocks[FIRST_RESPONSE].stopped_at, clocks[FIRST_RESPONSE].elapsed) == (
        vn("2026-12-07 09:00"), H,
    )  # fmt: skip
    assert (clocks[RESOLUTION].running, clocks[RESOLUTION].elapsed) == (True, 2 * H)


def test_ticket_received_outside_hours() -> None:
    first = compute_clocks(
        started_at=vn("2026-12-13 21:00"),  # Sunday evening
        history=[],
        targets=NORMAL,
        calendar=BUSINESS,
        now=vn("2026-12-14 07:00"),
    )[FIRST_RESPONSE]
    # nothing counted yet; Mon 07:30 + 4h = 11:30
    assert (first.elapsed, first.due_at) == (timedelta(0), vn("2026-12-14 11:30"))


@pytest.mark.parametrize(
    ("history", "message"),
    [
        (changes(("2026-12-07 10:00", "assigned"), ("2026-12-07 09:00", "triage")), "sorted"),
        (changes(("2026-12-07 10:00", "archived")), "unknown state"),
        ([StateChange(at=datetime(2026, 12, 7, 10, 0), to_state="triage")], "aware"),
    ],
    ids=["unsorted", "unknown state", "naive"],
)
def test_bad_history_raises(history: list[StateChange], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_clocks(
            started_at=vn("2026-12-07 08:00"),
            history=history,
            targets=NORMAL,
            calendar=BUSINESS,
            now=vn("2026-12-08 08:00"),
        )


# --- configuration --------------------------------------------------------------------------


def test_shipped_configuration() -> None:
    # the government's 2026 New Year swap, which the holidays package does not list
    assert load_calendar() == BusinessCalendar(extra_days_off=frozenset({date(2026, 1, 2)}),
                                               makeup_days=frozenset({date(2026, 1, 10)}))
    policies = load_policies()
    assert (policies.warn_fraction, policies.escalate_fraction) == (0.75, 1.5)
    assert policies.targets_for(category="traffic", urgent=False) == NORMAL
    assert policies.targets_for(category=None, urgent=True) == URGENT
    assert policies.targets_for(category="fire_safety", urgent=True) == Targets(15 * M, 8 * H)
    assert policies.targets_for(category="fire_safety", urgent=False) == NORMAL
    assert policies.targets_for(category="admin_services", urgent=False) == Targets(4 * H, 80 * H)
    assert policies.targets_for(category="flooding", urgent=False) == Targets(4 * H, 24 * H)


def test_calendar_config_days() -> None:
    raw = json.loads(CALENDAR_PATH.read_text(encoding="utf-8"))
    raw.update(extra_days_off=["2026-12-14"], makeup_days=["2026-12-12"], country=None)
    calendar = calendar_from_config(raw)
    assert calendar.is_working_day(date(2026, 12, 12))
    assert not calendar.is_working_day(date(2026, 12, 14))
    assert calendar.is_working_day(date(2026, 11, 24))  # no public holidays with country null


@pytest.mark.parametrize(
    ("text", "expected"), [("4h", 4 * H), ("30m", 30 * M), ("1h30m", 90 * M), ("24h", 24 * H)]
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text, key="k") == expected


def _set(raw: dict, path: str, value: object) -> dict:
    data = copy.deepcopy(raw)
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value
    return data


SLA_RAW = json.loads(SLA_PATH.read_text(encoding="utf-8"))
CALENDAR_RAW = json.loads(CALENDAR_PATH.read_text(encoding="utf-8"))

BAD_SLA = [
    ("defaults.normal.resolution", "3d", "defaults.normal.resolution"),
    ("defaults.urgent.first_response", "0m", "defaults.urgent.first_response"),
    ("defaults.normal.first_response", 4, "defaults.normal.first_response"),
    ("defaults.normal.first_response", "50h", "defaults.normal.first_response"),
    ("categories.parking", {"normal": {"resolution": "8h"}}, "categories.parking"),
    ("categories.flooding", {"soon": {"resolution": "8h"}}, "categories.flooding"),
    ("categories.flooding.normal.resolution", "1 day", "categories.flooding.normal.resolution"),
    ("categories.flooding.normal.deadline", "8h", "categories.flooding.normal"),
    ("warn_fraction", 1.2, "warn_fraction"),
    ("escalate_fraction", 0.9, "escalate_fraction"),
    ("escalate_fraction", "1.5", "escalate_fraction"),
    ("defaults", {"normal": SLA_RAW["defaults"]["normal"]}, "defaults"),
    ("deadlines", {}, "deadlines"),
]


@pytest.mark.parametrize(
    ("path", "value", "key"), BAD_SLA, ids=[f"{c[0]}={c[1]!r}" for c in BAD_SLA]
)
def test_bad_sla_config_raises_naming_the_key(path: str, value: object, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        policies_from_config(_set(SLA_RAW, path, value))


BAD_CALENDAR = [
    ("timezone", "Asia/Saigon_City", "timezone"),
    ("windows", [["07:30", "25:00"]], r"windows\[0\]"),
    ("windows", [["13:00", "17:00"], ["07:30", "11:30"]], r"windows\[1\]"),
    ("windows", [["11:30", "07:30"]], r"windows\[0\]"),
    ("workdays", ["mon", "funday"], r"workdays\[1\]"),
    ("country", "XX", "country"),
    ("extra_days_off", ["2026-02-30"], r"extra_days_off\[0\]"),
    ("makeup_days", "2026-12-12", "makeup_days"),
    ("makeups", [], "makeups"),
]


@pytest.mark.parametrize(
    ("key", "value", "named"), BAD_CALENDAR, ids=[f"{c[0]}={c[1]!r}" for c in BAD_CALENDAR]
)
def test_bad_calendar_config_raises_naming_the_key(key: str, value: object, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        calendar_from_config({**CALENDAR_RAW, key: value})


def test_same_day_off_and_makeup_day_is_rejected() -> None:
    raw = {**CALENDAR_RAW, "extra_days_off": ["2026-12-12"], "makeup_days": ["2026-12-12"]}
    with pytest.raises(ValueError, match="makeup_days"):
        calendar_from_config(raw)
