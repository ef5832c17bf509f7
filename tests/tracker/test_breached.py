"""One definition of "breached" (`sla.summary.is_breached`): the live breach list asks it at
the moment of the request, the figures count the stored `sla.breached`, which is the same
rule at the ticket's last recompute. They cannot disagree: the stored flag equals the rule
when it is written, and the monitor looks at the ticket again no later than its `breach_at`,
whatever levels were already alerted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tracker.config import load_config
from services.tracker.monitor import reconcile, sweep
from services.tracker.sla.policy import Targets
from services.tracker.sla.summary import NEVER, is_breached, sla_fields
from services.tracker.stats import counters
from services.tracker.stats.service import department_stats
from services.tracker.store import TICKETS
from services.tracker.tickets import repository
from shared.settings import Settings
from shared.tickets import SlaClock, SlaLevel, TicketState

CONFIG = load_config(Settings.from_env({}))
START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday, 10:00 in the city
LEVELS = [f"{c}:{lv}" for c in SlaClock for lv in SlaLevel]
# the states a ticket moves through after its routing (any order: the clocks take any history)
MOVES = [s for s in TicketState if s != TicketState.NEW]


@st.composite
def tickets(draw: st.DrawFn) -> dict:
    started = START + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    at, state = started, TicketState.ASSIGNED
    history = [{"seq": 1, "at": at, "from": None, "to": "new"},
               {"seq": 2, "at": at, "from": "new", "to": state, "department": "so_xay_dung"}]
    for _ in range(draw(st.integers(0, 6))):
        at += timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
        to = draw(st.sampled_from(MOVES))
        history.append({"seq": len(history) + 1, "at": at, "from": state, "to": to})
        state = to
    return {"_id": "t", "category": draw(st.sampled_from(["traffic", "flooding",
                                                             "fire_safety", "land_housing"])),
            "urgent": draw(st.booleans()), "started_at": started, "history": history,
            "state": state, "seq": len(history),
            # levels alerted under earlier rules (another category, a looser policy)
            "alerted": draw(st.lists(st.sampled_from(LEVELS), unique=True))}


@settings(max_examples=400, deadline=None)
@given(ticket=tickets(), recompute_after=st.integers(0, 30 * 24 * 60),
       later=st.integers(0, 60 * 24 * 60))
def test_stored_flag_and_live_rule_never_disagree(ticket: dict, recompute_after: int,
                                                   later: int) -> None:
    last = ticket["history"][-1]["at"]
    recomputed_at = last + timedelta(minutes=recompute_after)
    stored = {**ticket, **sla_fields(ticket, config=CONFIG, now=recomputed_at)}
    flag = stored["sla"]["breached"]
    assert flag == is_breached(stored, now=recomputed_at)
    # until the monitor's next look, the stored flag is what the rule says live
    next_check = stored["sla"]["next_check_at"] or NEVER
    now = min(recomputed_at + timedelta(minutes=later), next_check - timedelta(microseconds=1))
    if now >= recomputed_at:
        assert is_breached(stored, now=now) == flag


def test_a_breach_moved_later_still_turns_the_figures(tdb, config, clock, make_ticket):
    """A breach alerted under the old rules, moved later by looser targets: when the new
    deadline passes, the figures count it as the breach list shows it (the old monitor never
    looked again before the escalation, so the figures said 0 while the list said 1)."""
    ticket = make_ticket(category="traffic")  # first response 4 h, resolution 40 h
    reconcile(db=tdb, config=config, now=clock())
    clock.advance(days=14)  # 10 working days: every level of both clocks reached
    sweep(db=tdb, config=config, now=clock())
    stored = tdb[TICKETS].find_one({"_id": ticket["_id"]})
    assert stored["sla"]["breached"] and len(stored["alerted"]) == 6
    looser = replace(config, fingerprint="looser", policies=replace(
        config.policies, normal=Targets(first_response=timedelta(hours=120),
                                        resolution=timedelta(hours=120))))
    assert reconcile(db=tdb, config=looser, now=clock()) >= 1

    def agree() -> int:
        live = len(repository.breaches(tdb, now=clock(), limit=10))
        figures = sum(counters.gauges(tdb).open_breaches.values())
        assert figures == live == sum(r["open_breaches"] for r in department_stats(db=tdb))
        return live

    assert agree() == 0
    breach_at = tdb[TICKETS].find_one({"_id": ticket["_id"]})["breach_at"]
    clock.advance(seconds=(breach_at - clock()).total_seconds() + 60)
    sweep(db=tdb, config=looser, now=clock())
    assert agree() == 1
