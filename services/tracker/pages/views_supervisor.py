"""The supervisor's dashboard: on-time rate and satisfaction per department against the
city's targets, backlog, the live breach list, volume charts and the CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, request

from services.tracker.deps import deps
from services.tracker.pages import charts, queries
from services.tracker.pages.common import WINDOWS, departments, page_number, render, window_days
from services.tracker.pages.figures import Figures, FiguresCache
from services.tracker.pages.session import requires_staff
from services.tracker.permissions import Action
from services.tracker.stats.api import CSV_COLUMNS
from services.tracker.stats.counters import breach_hours, figures_for_days
from services.tracker.tickets import repository
from services.tracker.tickets.render import breach_row
from shared.web.i18n import current_language, day_month, department_label, label, local_time
from shared.web.routes import Routes

routes = Routes()

ON_TIME_TARGET, SATISFACTION_TARGET = 0.99, 0.90
BREACH_ROWS = 20
BREACH_PAGE_ROWS = 50
REFRESH_SECONDS = 15


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


def _rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The breach rows with their names and due time written in the request's language, in
    one pass here rather than four template calls a row (the lists show 20 or 50)."""
    lang = current_language()
    return [{**breach_row(t), "department_name": department_label(t.get("department"), lang),
             "category_name": label("category", t["category"], lang),
             "state_name": label("state", t["state"], lang),
             "due": local_time(t.get("expected_resolution_at"))} for t in docs]


def _breaches() -> dict[str, Any]:
    """The dashboard's breach list: how many (the counters) and the latest `BREACH_ROWS`,
    read at a cost that does not grow with how many are breached; the full list is a page
    of its own."""
    d = deps()
    now = d.clock()
    hours = breach_hours(d.db)
    total = sum(n for _, n in hours)
    docs = repository.latest_breaches(d.db, now=now, hours=hours, limit=BREACH_ROWS)
    return {"breaches": _rows(docs), "breach_limit": BREACH_ROWS,
            "breach_total": max(total, len(docs)), "checked_at": now}


def _figures(days: int) -> Figures:
    """This window's figures: from the snapshot of this worker, recomputed in the background
    when older than 30 s."""
    d = deps()
    db, clock, tz = d.db, d.clock, d.config.business.tz

    def compute() -> Figures:
        now = clock()
        rows = figures_for_days(db=db, now=now, days=days, tz=tz)
        return Figures(days=days, rows=rows, totals=_totals(rows),
                       volume=queries.volume(db=db, now=now, days=days, tz=tz),
                       computed_at=now)

    cache: FiguresCache = current_app.extensions["staff_pages_figures"]
    return cache.get(days, compute)


@routes.get("/dashboard")
@requires_staff(Action.VIEW_STATS)
def dashboard() -> tuple[str, int]:
    figures = _figures(window_days())
    volume = figures.volume
    per_day = charts.columns([(day_month(day), n) for day, n in volume.days])
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


@routes.get("/breaches")
@requires_staff(Action.VIEW_STATS)
def breaches_page() -> tuple[str, int]:
    """Every open breach, most overdue first, in pages (a department's with ?department=)."""
    d = deps()
    now = d.clock()
    page = page_number()
    department = request.args.get("department") or None
    hours = breach_hours(d.db, department)
    total = sum(n for _, n in hours)
    docs = repository.breach_page(d.db, now=now, hours=hours, limit=BREACH_PAGE_ROWS,
                                  skip=(page - 1) * BREACH_PAGE_ROWS, department=department)
    pages = max(1, -(-total // BREACH_PAGE_ROWS), page if docs else 1)
    query_string = urlencode({"department": department}) if department else ""
    return render("breaches.html", breaches=_rows(docs), total=total,
                  page=page, pages=pages, department=department, departments=departments(),
                  query_string=query_string, checked_at=now)


@routes.get("/dashboard/departments.csv")
@requires_staff(Action.VIEW_STATS)
def departments_csv() -> Response:
    days = window_days()
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
