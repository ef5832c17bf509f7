"""Who gets an alert (pure): a warning goes to the ticket's owner, or to the department's
handlers while nobody owns it; a breach and an escalation go to the department's
supervisors (a supervisor without a department oversees every department)."""

from __future__ import annotations

from services.tracker.staff import Principal
from shared.events import SlaAlertV1


def recipients(event: SlaAlertV1, *, assignee: str | None,
               staff: list[Principal]) -> list[str]:
    if event.level == "warning":
        if assignee:
            return [assignee]
        return sorted({p.user for p in staff
                       if p.role == "handler" and p.department == event.department})
    return sorted({p.user for p in staff if p.role == "supervisor"
                   and (p.department is None or p.department == event.department)})


def directory_principals(directory) -> list[Principal]:
    found = {p.user: p for p in directory.by_digest.values()}
    found.update({p.user: p for p, _ in directory.by_user.values()})
    return list(found.values())
