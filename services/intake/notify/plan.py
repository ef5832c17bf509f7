"""Which notifications an event calls for: pure functions of the event and the report.

A report's `notify` holds the citizen's consent (`consent`, the `channels` chosen, the
`lang`, `unsubscribed_at`). No consent, or unsubscribed: nothing is planned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake.notify.messages import STATE_KINDS
from services.intake.notify.outbox import new_row
from shared.events import TicketStatusChangedV1

RECEIVED_SEQ = 0


def wanted_channels(report: dict[str, Any]) -> list[str]:
    notify = report.get("notify") or {}
    if not notify.get("consent") or notify.get("unsubscribed_at"):
        return []
    return list(notify.get("channels") or [])


def plan_received(report: dict[str, Any], *, now: datetime) -> list[dict[str, Any]]:
    return [new_row(report_id=report["_id"], tracking_code=report["tracking_code"],
                    seq=RECEIVED_SEQ, channel=channel, kind="received",
                    lang=report.get("notify", {}).get("lang", "vi"), now=now)
            for channel in wanted_channels(report)]


def plan_status(events: list[TicketStatusChangedV1], reports: dict[str, dict[str, Any]], *,
                now: datetime) -> list[dict[str, Any]]:
    """The rows a batch of status events calls for. The ticket's creation (seq 1) also plans
    the report's "received" message, in case intake stopped between storing the report and
    queuing that message (the row's key makes it a no-op when it is already there)."""
    rows: list[dict[str, Any]] = []
    for event in events:
        report = reports.get(event.report_id)
        if report is None:
            continue
        if event.seq == 1:
            rows.extend(plan_received(report, now=now))
        kind = STATE_KINDS.get(event.to_state)
        if kind is None or event.from_state == event.to_state:
            continue
        lang = report.get("notify", {}).get("lang", "vi")
        rows.extend(new_row(report_id=report["_id"], tracking_code=report["tracking_code"],
                            seq=event.seq, channel=channel, kind=kind, lang=lang, now=now,
                            note=event.public_note, department=event.department)
                    for channel in wanted_channels(report))
    return rows
