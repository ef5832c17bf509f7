"""The supervisor's dashboard: on-time rate and satisfaction per department against the
city's targets, backlog, the live breach list, volume charts and the CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, current_app, request

from services.tracker.deps import deps
from services.tracker.pages import charts, queries
from services.tracker.pages.common import render
from services.tracker.pages.figures import Figures, FiguresCache
from services.tracker.pages.session import requires_staff
from services.tracker.permissions import Action
from services.tracker.stats.api import CSV_COLUMNS
from services.tracker.stats.service import department_stats, window_start
from services.tracker.tickets import repository
from services.tracker.tickets.render import ticket_out
from shared.web.i18n import department_label, label
from shared.web.routes import Routes

routes = Routes()

ON_TIME_TARGET, SATISFACTION_TARGET = 0.99, 0.90
WINDOWS = (7, 30, 90)
BREACH_ROWS = 50
REFRESH_SECONDS = 15


def _days() -> int:
    raw = request.args.get("days", "30")
    return int(raw) if raw.isdigit() and int(raw) in WINDOWS else 30


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    resolved = sum(r["resolved"] for r in rows)
    on_time = sum((r["on_time_rate"] or 0) * r["resolved"] for r in rows)
    ratings = sum(r["ratings"] for r in rows)
    satisfied = sum((r["satisfaction"] or 0) * r["ratings"] for r in rows)
    return {"backlog": sum(r["backlog"] for r in rows),
            "open_breaches": sum(r["open_breaches"] for r in rows), "resolved": resolved,
            "on_time_rate": round(on_time) / resolved if resolved else None,
            "ratings": ratings,
            "satisfaction": round(satisfied) / ratings if ratings else None}


def _breaches() -> dict[str, Any]:
    d = deps()
    now = d.clock()
    docs = repository.breaches(d.db, now=now, limit=BREACH_ROWS)
    return {"breaches": [ticket_out(t) for t in docs], "breach_limit": BREACH_ROWS,
            "checked_at": now}


def _figures(days: int) -> Figures:
    """This window's figures: from the snapshot of this worker, recomputed in the background
    when older than 30 s."""
    d = deps()
    db, clock, tz = d.db, d.clock, d.settings.timezone

    def compute() -> Figures:
        now = clock()
        rows = department_stats(db=db, since=window_start(now, days))
        return Figures(days=days, rows=rows, totals=_totals(rows),
                       volume=queries.volume(db=db, now=now, days=days, tz=tz),
                       computed_at=now)

    cache: FiguresCache = current_app.extensions["staff_pages_figures"]
    return cache.get(days, compute)


@routes.get("/dashboard")
@requires_staff(Action.VIEW_STATS)
def dashboard() -> tuple[str, int]:
    figures = _figures(_days())
    volume = figures.volume
    per_day = charts.columns([(day.strftime("%d/%m"), n) for day, n in volume.days])
    per_category = charts.rows([(label("category", c), n) for c, n in volume.categories])
    return render("dashboard.html", rows=figures.rows, totals=figures.totals,
                  days=figures.days, computed_at=figures.computed_at, windows=WINDOWS,
                  on_time_target=ON_TIME_TARGET, satisfaction_target=SATISFACTION_TARGET,
                  volume=volume, per_day=per_day, per_category=per_category,
                  refresh=REFRESH_SECONDS, target_class=target_class, **_breaches())


@routes.get("/dashboard/breaches")
@requires_staff(Action.VIEW_STATS)
def breaches_fragment() -> tuple[str, int]:
    """The breach list alone: the dashboard's script swaps it in every 15 s."""
    return render("_breaches.html", **_breaches())


@routes.get("/dashboard/departments.csv")
@requires_staff(Action.VIEW_STATS)
def departments_csv() -> Response:
    days = _days()
    rows = _figures(days).rows
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*CSV_COLUMNS, "department_name"])
    for row in rows:
        writer.writerow([*("" if row[k] is None else row[k] for k in CSV_COLUMNS),
                         department_label(row["department"])])
    name = f"departments-{days}d.csv"
    return Response("\ufeff" + buffer.getvalue(), mimetype="text/csv",  # BOM: Excel reads UTF-8
                    headers={"Content-Disposition": f"attachment; filename={name}",
                             "Cache-Control": "no-store"})


def target_class(value: float | None, target: float) -> str:
    if value is None:
        return "na"
    return "ok" if value >= target else "bad"
