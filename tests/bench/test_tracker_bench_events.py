"""The tracker bench's events are ones the tracker can take: every example of the corpus it
cycles through becomes a ticket, the classifier's "not a report" outcome included (it stopped
the bench with KeyError 'not_a_report' once issue 15 added that outcome)."""

from __future__ import annotations

from bench.tracker_bench import CORPUS, START, event
from services.classifier.model import NOT_A_REPORT
from services.tracker.config import load_config
from services.tracker.tickets.service import new_ticket
from shared.settings import Settings


def test_every_bench_event_becomes_a_ticket():
    config = load_config(Settings.from_env({"APP_ENV": "test"}))
    tickets = [new_ticket(config=config, event=event(i, START), now=START)
               for i in range(len(CORPUS))]
    chatter = [t for t, e in zip(tickets, CORPUS, strict=True) if e.category == NOT_A_REPORT]
    assert chatter, "the corpus has not_a_report examples: the case this test is about"
    assert {t["state"] for t in chatter} == {"triage"}
    assert {t["triage_reason"] for t in chatter} == {NOT_A_REPORT}
    routed = [t for t, e in zip(tickets, CORPUS, strict=True) if e.category != NOT_A_REPORT]
    assert {t["state"] for t in routed} == {"assigned"}
    assert all(t["department"] for t in routed)
