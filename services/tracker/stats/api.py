"""/api/v1/stats and /api/v1/breaches for supervisors."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, request

from services.tracker.auth import requires
from services.tracker.deps import deps
from services.tracker.permissions import Action
from services.tracker.stats.counters import breach_hours, figures_for_days
from services.tracker.tickets import repository
from services.tracker.tickets.render import ticket_out
from shared.web.numbers import plain_int
from shared.web.problems import validation_problem

bp = Blueprint("stats", __name__, url_prefix="/api/v1")
CSV_COLUMNS = ("department", "backlog", "open_breaches", "resolved", "on_time_rate",
               "median_resolution_hours", "ratings", "satisfaction", "mean_rating",
               "first_responses", "first_response_on_time_rate")


def _days() -> int | None:
    raw = request.args.get("days")
    if raw is None:
        return None
    days = plain_int(raw, 1, 3660)
    if days is None:
        raise validation_problem([{"field": "days", "message": "an integer 1..3660"}],
                                 status=400)
    return days


@bp.get("/stats/departments")
@requires(Action.VIEW_STATS)
def departments() -> Response:
    d = deps()
    rows = figures_for_days(db=d.db, now=d.clock(), days=_days(), tz=d.config.business.tz)
    return jsonify(on_time_target=0.99, satisfaction_target=0.9, departments=rows)


@bp.get("/stats/departments.csv")
@requires(Action.VIEW_STATS)
def departments_csv() -> Response:
    d = deps()
    rows = figures_for_days(db=d.db, now=d.clock(), days=_days(), tz=d.config.business.tz)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in CSV_COLUMNS})
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=departments.csv"})


@bp.get("/breaches")
@requires(Action.VIEW_STATS)
def breaches() -> Response:
    d = deps()
    department = request.args.get("department") or None
    docs = repository.breach_page(d.db, now=d.clock(), hours=breach_hours(d.db, department),
                                  limit=500, department=department,
                                  fields=repository.WITHOUT_HISTORY)
    return jsonify(total=len(docs), items=[ticket_out(t) for t in docs])
