"""The audit of the supervisors' figures: hypothesis drives random sequences of filings,
moves, pauses, reopens, duplicate marks and their undoing, re-routes, triage, ratings and
clock jumps through the tickets service (injected clock, the real embedded store), and after
every step the department figures (all time and a 2-day window), the open-breach list (the
stored one and the live one) and the metrics must equal what this file recomputes from the
tickets' histories alone.

The recomputation below shares no code with the tracker's clocks, outcome or statistics: it
walks each history entry by entry. It uses only the configuration (targets and calendars)
and what the test itself knew when filing (arrival time, category, urgency).

`make test` runs AUDIT_EXAMPLES x AUDIT_STEPS steps; the `audit_long` marker (in
`make bench`) runs ten times more: `pytest -m audit_long tests/tracker/test_figures_audit.py`.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from services.tracker.app import ticket_gauges
from services.tracker.monitor import sweep
from services.tracker.staff import Principal
from services.tracker.stats import counters
from services.tracker.stats.service import department_stats
from services.tracker.store import ALERTS, TICKETS
from services.tracker.tickets import service
from services.tracker.tickets.repository import breaches
from services.tracker.tickets.states import STATES, IllegalTransition
from shared.clock import ManualClock
from shared.tickets import OPEN_STATES
from tests.helpers import create_from_classified
from tests.tracker.conftest import classified


def flagged_breaches(db) -> list[dict]:
    """Open tickets whose stored SLA state says breached (as of their last recompute)."""
    return list(db[TICKETS].find({"sla.breached": True, "state": {"$in": list(OPEN_STATES)}}))

AUDIT_EXAMPLES = int(os.environ.get("AUDIT_EXAMPLES", "50"))
AUDIT_STEPS = int(os.environ.get("AUDIT_STEPS", "60"))

OPEN = {"new", "triage", "assigned", "in_progress", "waiting_citizen", "reopened", "rejected"}
FINAL = {"resolved", "closed", "duplicate"}
NOT_COUNTING = {"waiting_citizen", "resolved", "closed", "duplicate"}
ANSWERS = {"in_progress", "waiting_citizen", "resolved", "closed", "rejected", "duplicate"}
# categories with different targets: traffic 4h/40h, flooding 4h/24h, fire_safety urgent 15m
FILINGS = [("traffic", "q3", False), ("flooding", None, False), ("noise", "q1", False),
           ("fire_safety", None, True), ("traffic", "q1", True)]
DEPARTMENTS = ["so_xay_dung", "thoat_nuoc_do_thi", "ubnd_q1", "dien_luc"]
SUPERVISOR = Principal(user="sup", role="supervisor")
OPERATOR = Principal(user="op", role="operator")
CITIZEN = Principal(user="intake", role="service")
REFUSED = (IllegalTransition, service.Forbidden, service.NotAllowed, service.Conflict,
           service.TicketNotFound)


@dataclass(frozen=True)
class Filed:
    started_at: datetime
    category: str
    urgent: bool


# --- the independent recomputation ---------------------------------------------------------


def _changes(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes of state, without an undone duplicate mark and its undo."""
    undone = {h["undoes"] for h in history if "undoes" in h}
    return [h for h in history if h["from"] != h["to"] and h["seq"] not in undone
            and "undoes" not in h]


@dataclass
class Replayed:
    state: str
    department: str | None
    finished_at: datetime | None
    on_time: bool | None
    open_breach: bool
    episodes: list[tuple[str | None, datetime, datetime | None, bool | None]]
    rating: tuple[int, datetime] | None
    duplicate_of: str | None  # tracking code
    started_at: datetime


def replay(doc: dict[str, Any], filed: Filed, config: Any, now: datetime) -> Replayed:
    history = doc["history"]
    targets = config.policies.targets_for(category=filed.category, urgent=filed.urgent)
    calendar = config.calendar_for(urgent=filed.urgent)
    changes = _changes(history)
    # resolution: working time in every interval spent in a counting state
    used = timedelta(0)
    state, since = "new", filed.started_at
    for h in changes:
        if state not in NOT_COUNTING:
            used += calendar.between(since, h["at"])
        state, since = h["to"], h["at"]
    if state not in NOT_COUNTING:
        used += calendar.between(since, now)
    finished_at = None
    if state in FINAL:
        for h in reversed(changes):
            if h["to"] not in FINAL:
                break
            finished_at = h["at"]
    # first response: a clock per receiving department
    episodes: list[list[Any]] = []
    department: str | None = None
    current = [None, filed.started_at, None]
    for h in changes:
        routed = h.get("department")
        if routed is not None and routed != department:
            if department is not None:
                episodes.append(current)
                current = [routed, h["at"], None]
            current[0] = department = routed
        if current[2] is None and h["to"] in ANSWERS:
            current[2] = h["at"]
    episodes.append(current)
    judged = [(d, start, end, None if end is None
               else calendar.between(start, end) < targets.first_response)
              for d, start, end in episodes]
    last = judged[-1]
    first_late = last[2] is None and calendar.between(last[1], now) >= targets.first_response
    # the rating standing now: the last one given since the last reopen
    rating = None
    for h in history:
        if h["to"] == "reopened" and h["from"] != "reopened":
            rating = None
        if "rating" in h:
            rating = (h["rating"], h["at"])
    marks = [h for h in changes if h["to"] == "duplicate"]
    return Replayed(
        state=state, department=department, finished_at=finished_at,
        on_time=None if finished_at is None else used < targets.resolution,
        open_breach=state in OPEN and (used >= targets.resolution or first_late),
        episodes=judged, rating=rating,
        duplicate_of=marks[-1]["duplicate_of"] if state == "duplicate" else None,
        started_at=filed.started_at)


def expected_figures(replays: dict[str, Replayed], since: datetime | None
                     ) -> list[dict[str, Any]]:
    def outcome(code: str, seen: frozenset[str]) -> tuple[datetime, bool] | None:
        r = replays[code]
        if r.finished_at is None:
            return None
        if r.state != "duplicate":
            return r.finished_at, bool(r.on_time)
        if r.duplicate_of in seen or r.duplicate_of not in replays:
            return None
        original = outcome(r.duplicate_of, seen | {code})
        if original is None:
            return None
        return max(r.finished_at, original[0]), bool(r.on_time) and original[1]

    def within(at: datetime) -> bool:
        return since is None or at >= since

    rows: dict[str, dict[str, Any]] = {}

    def row(department: str) -> dict[str, Any]:
        return rows.setdefault(department, {"backlog": 0, "breaches": 0, "done": [],
                                            "first": [], "ratings": []})

    for code, r in replays.items():
        for department, _start, answered, on_time in r.episodes:
            if department is not None and answered is not None and within(answered):
                row(department)["first"].append(on_time)
        if r.department is None:
            continue
        if r.state in OPEN:
            row(r.department)["backlog"] += 1
            row(r.department)["breaches"] += r.open_breach
        done = outcome(code, frozenset())
        if done is not None and within(done[0]):
            row(r.department)["done"].append((done[0], done[1], code))
        if r.rating is not None and within(r.rating[1]):
            row(r.department)["ratings"].append(r.rating[0])
    out = []
    for department in sorted(rows):
        x = rows[department]
        durations = [(at - replays[code].started_at).total_seconds()
                     for at, _, code in x["done"]]
        ratings = x["ratings"]
        out.append({
            "department": department, "backlog": x["backlog"], "open_breaches": x["breaches"],
            "resolved": len(x["done"]),
            "on_time_rate": sum(ok for _, ok, _ in x["done"]) / len(x["done"])
            if x["done"] else None,
            "median_resolution_hours": round(median(durations) / 3600, 2)
            if durations else None,
            "first_responses": len(x["first"]),
            "first_response_on_time_rate": sum(x["first"]) / len(x["first"])
            if x["first"] else None,
            "ratings": len(ratings),
            "satisfaction": sum(1 for s in ratings if s >= 4) / len(ratings)
            if ratings else None,
            "mean_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
        })
    return out


# --- the machine ---------------------------------------------------------------------------


ENV: dict[str, Any] = {}  # the store and configuration of the running test
DONE: Counter[str] = Counter()  # the changes the service accepted, by action and new state


class FiguresAudit(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.db, self.config = ENV["db"], ENV["config"]
        self.db[TICKETS].delete_many({})
        self.db[ALERTS].delete_many({})
        self.db[counters.FIGURE_COUNTERS].delete_many({})
        self.clock = ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
        self.filed: dict[str, Filed] = {}
        self.codes: dict[str, str] = {}
        self.ids: list[str] = []

    def _doc(self, i: int, states: set[str] | None = None) -> dict[str, Any]:
        """The i-th ticket (modulo), among those in `states` when some are."""
        query = {"state": {"$in": sorted(states)}} if states else {}
        docs = list(self.db[TICKETS].find(query).sort("_id", 1)) or \
            list(self.db[TICKETS].find({}).sort("_id", 1))
        return docs[i % len(docs)]

    def _try(self, action: Any, name: str) -> None:
        try:
            ticket = action()
        except REFUSED:
            return
        DONE[f"{name} -> {ticket['state']}"] += 1

    def _handler(self, doc: dict[str, Any]) -> Principal:
        return Principal(user="h", role="handler", department=doc.get("department"))

    @initialize()
    def first(self) -> None:
        self.file(0, False)

    @rule(kind=st.integers(0, len(FILINGS) - 1), unsure=st.booleans())
    def file(self, kind: int, unsure: bool) -> None:
        category, district, urgent = FILINGS[kind]
        event = classified(at=self.clock(), category=category, district=district,
                           urgent=urgent, needs_triage=unsure)
        ticket, _ = create_from_classified(db=self.db, config=self.config,
                                                   event=event, now=self.clock())
        self.filed[ticket["_id"]] = Filed(ticket["started_at"], category, urgent)
        self.codes[ticket["tracking_code"]] = ticket["_id"]
        self.ids.append(ticket["_id"])

    @rule(i=st.integers(0, 10**6), to=st.sampled_from(STATES),
          who=st.sampled_from(["handler", "supervisor", "operator"]),
          note=st.sampled_from([None, "đã xử lý xong"]))
    def move(self, i: int, to: str, who: str, note: str | None) -> None:
        doc = self._doc(i)
        principal = self._handler(doc) if who == "handler" else Principal(user=who, role=who)
        self._try(lambda: service.transition(
            db=self.db, config=self.config, principal=principal, ticket_id=doc["_id"],
            to_state=to, note=note, public=False, now=self.clock()), "transition")

    @rule(i=st.integers(0, 10**6),
          to=st.sampled_from(["in_progress", "waiting_citizen", "resolved", "closed"]))
    def work(self, i: int, to: str) -> None:
        """The handler's usual moves, more often than random ones: pause, resume, finish."""
        doc = self._doc(i, {"assigned", "in_progress", "waiting_citizen", "reopened",
                            "resolved"})
        self._try(lambda: service.transition(
            db=self.db, config=self.config, principal=self._handler(doc),
            ticket_id=doc["_id"], to_state=to, note=None, public=False, now=self.clock()),
            "transition")

    @rule(i=st.integers(0, 10**6))
    def pause(self, i: int) -> None:
        """Waiting for the citizen, often after a jump: the clock may be past due."""
        doc = self._doc(i, {"assigned", "in_progress", "reopened"})
        self._try(lambda: service.transition(
            db=self.db, config=self.config, principal=self._handler(doc),
            ticket_id=doc["_id"], to_state="waiting_citizen", note=None, public=False,
            now=self.clock()), "transition")

    @rule(i=st.integers(0, 10**6), by_citizen=st.booleans(),
          reason=st.sampled_from([None, "Vẫn chưa sửa xong"]))
    def reopen(self, i: int, by_citizen: bool, reason: str | None) -> None:
        doc = self._doc(i, {"resolved", "closed"})
        if by_citizen:
            self._try(lambda: service.reopen(
                db=self.db, config=self.config, principal=CITIZEN,
                tracking_code=doc["tracking_code"], reason=reason or "chưa xong",
                now=self.clock()), "reopen")
        else:
            self._try(lambda: service.transition(
                db=self.db, config=self.config, principal=SUPERVISOR, ticket_id=doc["_id"],
                to_state="reopened", note=reason, public=False, now=self.clock()), "transition")

    @rule(i=st.integers(0, 10**6), j=st.integers(0, 10**6))
    def duplicate(self, i: int, j: int) -> None:
        doc, original = self._doc(i, OPEN - {"new"}), self._doc(j)
        self._try(lambda: service.mark_duplicate(
            db=self.db, config=self.config, principal=OPERATOR, ticket_id=doc["_id"],
            original_id=original["_id"], note=None, now=self.clock()), "mark_duplicate")

    @rule(i=st.integers(0, 10**6))
    def undo_duplicate(self, i: int) -> None:
        doc = self._doc(i, {"duplicate"})
        self._try(lambda: service.undo_duplicate(
            db=self.db, config=self.config, principal=SUPERVISOR, ticket_id=doc["_id"],
            reason="không trùng", now=self.clock()), "undo_duplicate")

    @rule(i=st.integers(0, 10**6), department=st.sampled_from(DEPARTMENTS))
    def reroute(self, i: int, department: str) -> None:
        doc = self._doc(i)
        self._try(lambda: service.reroute(
            db=self.db, config=self.config, principal=SUPERVISOR, ticket_id=doc["_id"],
            category=None, department=department, note="không thuộc thẩm quyền",
            now=self.clock()), "reroute")

    @rule(i=st.integers(0, 10**6))
    def triage(self, i: int) -> None:
        doc = self._doc(i, {"triage", "rejected"})
        self._try(lambda: service.triage(
            db=self.db, config=self.config, principal=OPERATOR, ticket_id=doc["_id"],
            category=self.filed[doc["_id"]].category, district=None, note=None,
            now=self.clock()), "triage")

    @rule(i=st.integers(0, 10**6), score=st.integers(1, 5))
    def rate(self, i: int, score: int) -> None:
        doc = self._doc(i, {"resolved", "closed"})
        self._try(lambda: service.rate(
            db=self.db, config=self.config, principal=CITIZEN,
            tracking_code=doc["tracking_code"], score=score, comment=None, now=self.clock()),
            "rate")

    @rule(minutes=st.one_of(st.integers(1, 240), st.integers(240, 60 * 24 * 10)))
    def jump(self, minutes: int) -> None:
        """Time passes; the monitor sweeps as it does every few seconds in production."""
        self.clock.advance(minutes=minutes)
        sweep(db=self.db, config=self.config, now=self.clock())

    @invariant()
    def figures_match_the_histories(self) -> None:
        DONE["(steps checked)"] += 1
        now = self.clock()
        docs = list(self.db[TICKETS].find({}))
        replays = {d["tracking_code"]: replay(d, self.filed[d["_id"]], self.config, now)
                   for d in docs}
        for since in (None, now - timedelta(days=2)):
            assert department_stats(db=self.db, since=since) == \
                expected_figures(replays, since), f"figures since {since}"
        self._counters_match(replays, docs)
        breaching = {self.codes[c] for c, r in replays.items() if r.open_breach}
        assert {t["_id"] for t in flagged_breaches(self.db)} == breaching
        assert {t["_id"] for t in breaches(self.db, now=now, limit=10**6)} == breaching
        self._metrics_match(replays)

    def _counters_match(self, replays: dict[str, Replayed], docs: list[dict[str, Any]]
                        ) -> None:
        """The counters equal their recomputation from the tickets (what rebuild-figures
        writes), and the figures they serve (all time, and the 2 city days ending today)
        equal the recomputation from the histories; the median within its histogram's
        resolution (2^(1/8) - 1 of the exact value, and a minute)."""
        tz = self.config.business.tz
        now = self.clock()
        everything = counters.Tickets(self.db, docs)
        counted = {d["_id"]: counters.contribution(d, everything, tz) for d in docs}
        # what rebuild-figures would write, from the tickets just read
        assert counters.stored(self.db) == counters.by_document(
            sum(counted.values(), Counter()))
        for block in self.db[counters.FIGURE_COUNTERS].find({"kind": {"$regex": "^B"}}):
            # durations packed, one value per department (issue 19), no field per bucket
            assert all(isinstance(v, bytes) for v in block.get(counters.HISTOGRAM, {}).values())
            assert not any("h" in counts for counts in block.get("d", {}).values())
        assert {d["_id"]: d.get("figures_hash") for d in docs} == \
            {i: counters.digest(c) for i, c in counted.items()}
        first, last = counters.window(now, 2, tz)
        for days, since in ((None, None), (2, counters.window_start(now, 2, tz))):
            served = counters.department_figures(
                db=self.db, first=None if days is None else first,
                last=None if days is None else last)
            wanted = expected_figures(replays, since)
            assert [r["department"] for r in served] == [r["department"] for r in wanted]
            for got, want in zip(served, wanted, strict=True):
                got, want = dict(got), dict(want)
                median, exact = got.pop("median_resolution_hours"), \
                    want.pop("median_resolution_hours")
                assert got == want, f"counted figures over {days} days"
                assert (median is None) == (exact is None)
                if exact is not None:
                    assert abs(median - exact) <= exact * (2 ** (1 / 8) - 1) + 1 / 60 + 0.01
        per_day: Counter[tuple[int, str]] = Counter(
            (d["created_at"].astimezone(tz).date().toordinal(), d["category"]) for d in docs)
        got_days, got_categories = counters.volume(db=self.db, first=first - 30, last=last)
        assert got_days == {day: sum(n for (x, _), n in per_day.items() if x == day)
                            for day, _ in per_day if day >= first - 30}
        assert got_categories == Counter(
            c for (day, c), n in per_day.items() if day >= first - 30 for _ in range(n))

    def _metrics_match(self, replays: dict[str, Replayed]) -> None:
        samples: dict[tuple[str, tuple[str, ...]], float] = {}
        for family in ticket_gauges(self.db):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        expected: dict[tuple[str, tuple[str, ...]], float] = {}
        for r in replays.values():
            if r.state in OPEN:
                dept = (("department", r.department or "unassigned"),)
                key = ("tracker_open_tickets", (*dept, ("state", r.state)))
                expected[key] = expected.get(key, 0) + 1
                if r.open_breach:
                    key = ("tracker_open_breaches", dept)
                    expected[key] = expected.get(key, 0) + 1
        for row in expected_figures(replays, None):
            dept = (("department", row["department"]),)
            if row["on_time_rate"] is not None:
                expected[("tracker_on_time_ratio", dept)] = row["on_time_rate"]
            if row["first_response_on_time_rate"] is not None:
                expected[("tracker_first_response_on_time_ratio", dept)] = \
                    row["first_response_on_time_rate"]
        assert samples == expected


def _run(tdb, config, examples: int, steps: int) -> None:
    ENV.update(db=tdb, config=config)
    phases = [p for p in Phase if p is not Phase.shrink or not os.environ.get("AUDIT_NO_SHRINK")]
    run_state_machine_as_test(FiguresAudit, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, phases=phases,
        suppress_health_check=list(HealthCheck), print_blob=True))


def test_figures_equal_a_recomputation_from_the_histories(tdb, config) -> None:
    DONE.clear()
    _run(tdb, config, AUDIT_EXAMPLES, AUDIT_STEPS)
    print(sorted(DONE.items()))


@pytest.mark.audit_long
def test_figures_audit_long_run(tdb, config) -> None:
    _run(tdb, config, AUDIT_EXAMPLES * 10, AUDIT_STEPS * 2)
