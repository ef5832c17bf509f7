"""Supervisors' figures per department. One definition of each, used by the API, the CSV,
the dashboard and the metrics (the README's "Figures" section says the same in words):

- backlog: open tickets the department holds now (whenever they were filed).
- open breaches: those of them whose resolution target is used up (running or paused in
  waiting_citizen) or whose current first-response clock is past due.
- finished (`resolved`): tickets that reached a final state (resolved, closed or duplicate)
  in the window, by whichever path, counted once for the department that held them last.
  `finished_at` is the last time the ticket entered a final state: a reopened ticket counts
  by its last resolution. A duplicate counts through its original: finished when both it is
  marked and its original has finished, on time only when it was marked within its own
  target and the original was on time (it counts for the department that held it).
- on-time rate: the finished tickets whose resolution clock (working time, paused while
  waiting for the citizen) stayed under the target, over all finished tickets.
- first response: each department that received the ticket (first routing, triage or a
  re-route) has its own clock from receiving it to its first answer; counted in the window
  of the answer, on time when under the first-response target.
- satisfaction: ratings given in the window by citizens (a reopen takes the rating back),
  for the department holding the ticket; satisfied = 4 or 5 stars.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from pymongo.database import Database

# `outcome` is read from here by the counters too (stats/counters.py)
from services.tracker.stats.outcome import outcome
from services.tracker.tickets import repository
from shared.tickets import OPEN_STATES

__all__ = ["department_stats", "outcome", "window_start"]


def _empty() -> dict[str, Any]:
    return {"backlog": 0, "open_breaches": 0, "resolved": 0, "on_time": 0, "durations": [],
            "ratings": [], "first_responses": 0, "first_on_time": 0}


def _with_originals(db: Database, tickets: dict[str, dict[str, Any]]) -> None:
    missing = {t.get("duplicate_of") for t in tickets.values() if t["state"] == "duplicate"}
    while missing := {i for i in missing if i is not None and i not in tickets}:
        found = repository.figures_by_ids(db, missing)
        tickets.update((t["_id"], t) for t in found)
        missing = {t.get("duplicate_of") for t in found if t["state"] == "duplicate"}


def _read(db: Database, since: datetime | None) -> dict[str, dict[str, Any]]:
    # a duplicate finishes when its original does: read them all, then their originals
    tickets = {t["_id"]: t for t in repository.for_figures(db, since=since)}
    _with_originals(db, tickets)
    return tickets


def department_stats(*, db: Database, since: datetime | None = None
                     ) -> list[dict[str, Any]]:
    """A row per department with something to show: open tickets now, or a finished ticket,
    a first response or a rating in the window (`since`; None: all time)."""
    rows: dict[str, dict[str, Any]] = defaultdict(_empty)
    tickets = _read(db, since)
    for t in tickets.values():
        for episode in t.get("first_responses") or ():
            answered = episode.get("responded_at")
            if episode.get("department") and answered is not None and (
                    since is None or answered >= since):
                row = rows[episode["department"]]
                row["first_responses"] += 1
                row["first_on_time"] += int(bool(episode.get("on_time")))
        department = t.get("department")
        if not department:
            continue
        if t["state"] in OPEN_STATES:
            rows[department]["backlog"] += 1
            rows[department]["open_breaches"] += int(bool(t.get("sla", {}).get("breached")))
        done = outcome(t, tickets)
        if done is not None and (since is None or done[0] >= since):
            rows[department]["resolved"] += 1
            rows[department]["on_time"] += int(done[1])
            rows[department]["durations"].append((done[0] - t["started_at"]).total_seconds())
        rating = t.get("rating") or {}
        if rating.get("score") is not None and (since is None or rating["at"] >= since):
            rows[department]["ratings"].append(rating["score"])
    return [_row(department, row) for department, row in sorted(rows.items())]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _row(department: str, row: dict[str, Any]) -> dict[str, Any]:
    ratings = row["ratings"]
    return {
        "department": department,
        "backlog": row["backlog"],
        "open_breaches": row["open_breaches"],
        "resolved": row["resolved"],
        "on_time_rate": _ratio(row["on_time"], row["resolved"]),
        "median_resolution_hours": round(median(row["durations"]) / 3600, 2)
        if row["durations"] else None,
        "first_responses": row["first_responses"],
        "first_response_on_time_rate": _ratio(row["first_on_time"], row["first_responses"]),
        "ratings": len(ratings),
        "satisfaction": _ratio(sum(1 for r in ratings if r >= 4), len(ratings)),
        "mean_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
    }


def window_start(now: datetime, days: int | None) -> datetime | None:
    return now - timedelta(days=days) if days else None
