"""The lease (shared/lease.py) on the real store: `held()` is true only while this owner's
lease runs, false only while another owner's does, so a crashed holder is taken over as soon
as its lease ends; and it renews on a third of the duration of this process's wall time,
whatever the shared clock does (a simulated clock runs thousands of times faster)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.clock import ManualClock
from shared.lease import Lease

DURATION = timedelta(seconds=15)


class Wall:
    """A monotonic clock that moves when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pair(db, clock, wall) -> tuple[Lease, Lease]:
    name = f"lease-{uuid.uuid4().hex[:8]}"
    return (Lease(db["leases"], name, clock=clock, duration=DURATION, monotonic=wall),
            Lease(db["leases"], name, clock=clock, duration=DURATION, monotonic=wall))


def writes(db, name: str) -> object:
    return (db["leases"].find_one({"_id": name}) or {}).get("lease_until")


def test_held_renews_every_third_of_the_duration_of_wall_time_not_of_the_clock(db):
    clock, wall = ManualClock(datetime(2026, 11, 2, tzinfo=UTC)), Wall()
    mine, _ = pair(db, clock, wall)
    assert mine.held()
    until = writes(db, mine.name)
    clock.advance(hours=1)  # a simulated clock: an hour went by in a second
    wall.now += 1
    assert mine.held() and writes(db, mine.name) == until, "renewed on simulated time"
    wall.now += 4.1  # a third of 15 s of wall time since the renewal
    assert mine.held() and writes(db, mine.name) > until


# A replica calls held() after `gap` seconds (of the shared clock and of the wall alike, as in
# production); the first replica crashes (is never called again) from step `crash` on.
steps = st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 25)), min_size=1, max_size=14)


# each example uses a lease of its own name, so the shared database needs no reset
@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, crash=st.integers(0, 14))
def test_held_is_true_only_while_its_own_lease_runs_and_false_only_while_another_does(
        db, steps, crash):
    clock, wall = ManualClock(datetime(2026, 11, 2, tzinfo=UTC)), Wall()
    a, b = pair(db, clock, wall)
    for index, (who, gap) in enumerate(steps):
        clock.advance(seconds=gap)
        wall.now += gap
        replica = a if who == "a" else b
        if replica is a and index >= crash:
            replica = b  # the first one has crashed: only the other asks
        held = replica.held()
        doc = db["leases"].find_one({"_id": replica.name})
        if held:
            assert doc["owner"] == replica.owner and doc["lease_until"] > clock(), \
                "held() said yes without a running lease of its own"
        else:
            assert doc["owner"] != replica.owner and doc["lease_until"] >= clock(), \
                "held() said no though no other lease was running (never taken over)"
