"""Supervisors' figures per department: on-time rate, backlog, open breaches, median
resolution time and satisfaction."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from pymongo.database import Database

from services.tracker.store import OPEN_STATES, TICKETS


def department_stats(*, db: Database, since: datetime | None = None
                     ) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "backlog": 0, "open_breaches": 0, "resolved": 0, "resolved_on_time": 0,
        "durations": [], "ratings": []})
    query: dict[str, Any] = {"department": {"$ne": None}}
    if since is not None:
        query["created_at"] = {"$gte": since}
    fields = {"department": 1, "state": 1, "sla.breached": 1, "resolved_at": 1,
              "resolved_on_time": 1, "started_at": 1, "rating.score": 1}
    for t in db[TICKETS].find(query, fields):
        row = rows[t["department"]]
        if t["state"] in OPEN_STATES:
            row["backlog"] += 1
            row["open_breaches"] += int(bool(t.get("sla", {}).get("breached")))
        if t.get("resolved_at") is not None:
            row["resolved"] += 1
            row["resolved_on_time"] += int(bool(t.get("resolved_on_time")))
            row["durations"].append((t["resolved_at"] - t["started_at"]).total_seconds())
        score = (t.get("rating") or {}).get("score")
        if score is not None:
            row["ratings"].append(score)
    out = []
    for department, row in sorted(rows.items()):
        ratings = row["ratings"]
        out.append({
            "department": department,
            "backlog": row["backlog"],
            "open_breaches": row["open_breaches"],
            "resolved": row["resolved"],
            "on_time_rate": (row["resolved_on_time"] / row["resolved"]) if row["resolved"]
            else None,
            "median_resolution_hours": round(median(row["durations"]) / 3600, 2)
            if row["durations"] else None,
            "ratings": len(ratings),
            "satisfaction": (sum(1 for r in ratings if r >= 4) / len(ratings)) if ratings
            else None,
            "mean_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
        })
    return out


def open_breaches(*, db: Database, department: str | None = None,
                  limit: int = 500) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"sla.breached": True, "state": {"$in": list(OPEN_STATES)}}
    if department:
        query["department"] = department
    return list(db[TICKETS].find(query, {"history": 0}).sort("queue_key", 1).limit(limit))


def window_start(now: datetime, days: int | None) -> datetime | None:
    return now - timedelta(days=days) if days else None
