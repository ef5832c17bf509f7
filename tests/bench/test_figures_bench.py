"""The figures bench's generated tickets say what the tracker would store: a ticket the
generator marks breached is breached by the rule at the bench's instant (the breach list and
the counters read the same tickets), and ids are shaped like the intake's (filing second
first)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

from bench.figures_bench import NOW, Generator
from services.tracker.config import load_config
from services.tracker.sla.summary import is_breached
from shared.settings import Settings


def test_generated_breaches_are_breaches_by_the_rule_and_ids_sort_by_filing():
    config = load_config(Settings.from_env({"APP_ENV": "test"}))
    tickets = list(islice(Generator(config, 20_000).tickets(), 20_000))
    flagged = [t for t in tickets if t["sla"]["breached"]]
    assert flagged, "no breached ticket generated"
    assert all(is_breached(t, now=NOW) for t in flagged)
    assert all(t["breach_at"] == datetime.max for t in tickets if not t["sla"]["breached"])
    assert len({t["_id"] for t in tickets}) == len(tickets)
    assert all(datetime.fromtimestamp(int(t["_id"][:8], 16), UTC)
               == t["created_at"].replace(microsecond=0) for t in tickets)
