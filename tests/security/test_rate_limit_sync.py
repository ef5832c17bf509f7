"""The shared limiter admits a few hits of a client far from its limit from memory: they still
reach the store, near the limit it counts exactly, and no interleaving of hits over several
workers lets a client past `limit + local_cap x workers` in any minute."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.ratelimit import COUNTS, RateLimiter


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:  # a minute boundary
        self.now = now

    def __call__(self) -> float:
        return self.now


def _stored(db) -> int:
    return sum(d["count"] for d in db[COUNTS].find())


def test_hits_counted_in_memory_are_written_by_the_next_one(db):
    limiter = RateLimiter(1000, db=db, scope="write", clock=Clock())
    for _ in range(limiter.local_cap):
        assert limiter.check("ip:203.0.113.5") is None
    assert _stored(db) == 0  # 50 hits, no write
    assert limiter.check("ip:203.0.113.5") is None
    assert _stored(db) == limiter.local_cap + 1  # the 51st wrote them all, itself included


def test_near_the_limit_one_worker_admits_exactly_the_limit(db):
    limiter = RateLimiter(40, db=db, scope="write", clock=Clock())
    answers = [limiter.check("ip:203.0.113.9") for _ in range(60)]
    assert answers.count(None) == 40 and answers[:40] == [None] * 40
    assert _stored(db) == 40


def test_small_limits_and_exact_mode_write_every_hit(db):
    for limiter in (RateLimiter(19, db=db, scope="a", clock=Clock()),
                    RateLimiter(1000, db=db, scope="b", exact=True, clock=Clock())):
        before = _stored(db)
        assert limiter.check("ip:198.51.100.1") is None
        assert _stored(db) == before + 1


def test_a_refused_client_is_told_when_to_come_back(db):
    clock = Clock()
    limiter = RateLimiter(3, db=db, scope="write", clock=clock)
    assert [limiter.check("ip:a") for _ in range(3)] == [None, None, None]
    retry = limiter.check("ip:a")
    # three hits at the start of a minute: the sliding window holds two-thirds of them until
    # 20 s into the next minute
    assert retry is not None and abs(retry - 80) < 0.01
    assert _stored(db) == 3  # the refused hit does not count
    clock.now += retry - 1
    assert limiter.check("ip:a") is not None
    clock.now += 1
    assert limiter.check("ip:a") is None


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 60), workers=st.integers(1, 6),
       moves=st.lists(st.tuples(st.integers(0, 5), st.floats(0, 0.3)), min_size=1,
                      max_size=200))
def test_no_interleaving_of_workers_lets_a_client_past_the_bound_in_any_minute(
        db, limit, workers, moves):
    clock = Clock()
    scope = uuid.uuid4().hex  # one example's counts apart from the others'
    limiters = [RateLimiter(limit, db=db, scope=scope, clock=clock) for _ in range(workers)]
    admitted: dict[int, int] = {}
    for worker, dt in moves:
        clock.now += dt
        if limiters[worker % workers].check("ip:198.51.100.7") is None:
            minute = int(clock.now // 60)
            admitted[minute] = admitted.get(minute, 0) + 1
    assert max(admitted.values(), default=0) <= limit + limiters[0].local_cap * workers
