"""Versioned event schemas. Every event on Kafka is one of these, encoded as JSON.

An event names its type and schema version; consumers decode with `decode_event` and send
anything it rejects to a dead-letter topic. Events never carry personal data: a report's
reporter is referred to by the report id only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.blind_index import INDEX_PATTERN
from shared.tickets import SlaClock, SlaLevel
from shared.tickets import TicketState as _TicketState


class UndecodableEvent(ValueError):
    """The bytes are not a known, valid event."""


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    event_type: str
    schema_version: int
    event_id: str
    occurred_at: datetime


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lat: float
    long: float


Channel = Literal["web", "app", "call_center", "open311"]


class ReportEvent(Event):
    """What every event about a report carries: which report, and what the citizen wrote
    (contacts masked), never who they are."""

    report_id: str
    tracking_code: str
    channel: Channel
    description: str
    category_hint: str | None = None
    address: str | None = None
    location: Location | None = None
    submitted_at: datetime
    # keyed blind index of the reporter's phone numbers (shared/blind_index.py), never the
    # numbers: lets operators find a caller's reports in the tracker (issue 20)
    contact_index: list[Annotated[str, Field(pattern=INDEX_PATTERN)]] = Field(
        default_factory=list, max_length=4)


class ReportSubmittedV1(ReportEvent):
    TYPE: ClassVar[str] = "report.submitted"
    VERSION: ClassVar[int] = 1
    event_type: Literal["report.submitted"] = "report.submitted"
    schema_version: Literal[1] = 1

    district: str | None = None
    photo_count: Annotated[int, Field(ge=0)] = 0
    has_contact: bool = False


class ReportClassified(ReportEvent):
    """The classifier's verdict on a submitted report: its suggestion of category (with the
    confidence and the runners-up), district and urgency, and whether a human must look.
    Which department handles the report is the tracker's decision (its routing table), not
    part of this event."""

    TYPE: ClassVar[str] = "report.classified"
    event_type: Literal["report.classified"] = "report.classified"

    category: str
    confidence: Annotated[float, Field(ge=0, le=1)]
    top3: list[tuple[str, float]]
    urgent: bool
    district: str | None
    needs_triage: bool
    model_version: str
    # added by issue 15 (optional, so older producers and consumers still agree)
    outcome: Literal["routed", "needs_triage", "not_a_report"] | None = None
    triage_reason: Annotated[str, Field(max_length=40)] | None = None
    danger: list[Annotated[str, Field(max_length=20)]] = Field(default_factory=list,
                                                               max_length=20)


class ReportClassifiedV1(ReportClassified):
    """Version 1 also named a department, from the classifier's own copy of the routing
    table. Still accepted while v1 events remain on the topic; the department is ignored."""

    VERSION: ClassVar[int] = 1
    schema_version: Literal[1] = 1
    department: str


class ReportClassifiedV2(ReportClassified):
    """Version 2: no department (the tracker routes). Migration from v1: consumers accept
    both (they read `ReportClassified`), then the classifier produces v2; v1 can be removed
    once no v1 event is left within the topic's retention."""

    VERSION: ClassVar[int] = 2
    schema_version: Literal[2] = 2


class TicketCorrectedV1(Event):
    """A handler re-routed a ticket: a labelled example for the classifier."""

    TYPE: ClassVar[str] = "ticket.corrected"
    VERSION: ClassVar[int] = 1
    event_type: Literal["ticket.corrected"] = "ticket.corrected"
    schema_version: Literal[1] = 1

    report_id: str
    text: str
    old_category: str
    new_category: str
    district: str | None = None
    urgent: bool = False


TicketState = Literal[tuple(s.value for s in _TicketState)]  # type: ignore[valid-type]


class TicketStatusChangedV1(Event):
    """One entry of a ticket's history, as the citizen-facing views need it: internal notes
    and staff identities stay in the tracker. `seq` orders a ticket's events; consumers
    apply an event only if its seq is higher than the last one they applied."""

    TYPE: ClassVar[str] = "ticket.status_changed"
    VERSION: ClassVar[int] = 1
    event_type: Literal["ticket.status_changed"] = "ticket.status_changed"
    schema_version: Literal[1] = 1

    ticket_id: str
    report_id: str
    tracking_code: str
    seq: Annotated[int, Field(ge=1)]
    from_state: TicketState | None
    to_state: TicketState
    public_note: str | None = None
    category: str | None = None
    department: str | None = None
    expected_resolution_at: datetime | None = None
    duplicate_of: str | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None


class SlaAlertV1(Event):
    """A ticket's SLA clock reached a level: warning (75% of the target by default), breach,
    or escalation (the breach stayed open; goes to the supervisor). Published once per
    ticket, clock and level; `event_id` is `ticket:clock:level`."""

    TYPE: ClassVar[str] = "sla.alert"
    VERSION: ClassVar[int] = 1
    event_type: Literal["sla.alert"] = "sla.alert"
    schema_version: Literal[1] = 1

    ticket_id: str
    tracking_code: str
    department: str | None
    category: str
    urgent: bool
    clock: Literal[tuple(c.value for c in SlaClock)]  # type: ignore[valid-type]
    level: Literal[tuple(lv.value for lv in SlaLevel)]  # type: ignore[valid-type]
    due_at: datetime | None
    reached_at: datetime


_REGISTRY: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.VERSION): cls
    for cls in (ReportSubmittedV1, ReportClassifiedV1, ReportClassifiedV2, TicketCorrectedV1,
                TicketStatusChangedV1, SlaAlertV1)
}


def encode_event(event: Event) -> bytes:
    return event.model_dump_json().encode("utf-8")


def decode_event(raw: bytes | None) -> Event:
    if raw is None:
        raise UndecodableEvent("empty message")
    try:
        data: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UndecodableEvent("event is not a JSON object")
    key = (data.get("event_type"), data.get("schema_version"))
    cls = _REGISTRY.get(key)  # type: ignore[arg-type]
    if cls is None:
        raise UndecodableEvent(f"unknown event type/version {key!r}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise UndecodableEvent(f"invalid {key[0]} v{key[1]}: {exc.error_count()} errors") from exc
