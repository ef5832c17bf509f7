"""Request and response models of the tickets API: they validate and they feed OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.limits import (
    RATING_COMMENT_MAX,
    RATING_SCORE_MAX,
    RATING_SCORE_MIN,
    REOPEN_REASON_MAX,
    REOPEN_REASON_MIN,
    REPLY_PHOTOS_MAX,
    REPLY_TEXT_MAX,
)
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES
from shared.tickets import TicketState

State = Literal[tuple(s.value for s in TicketState)]  # type: ignore[valid-type]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
TicketId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]

# Staff list paging: deep pages cost the store offset+limit reads, so at most 10,000 deep.
MAX_LIMIT, MAX_OFFSET = 500, 10_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _category(value: str | None) -> str | None:
    if value is not None and value not in CATEGORY_CODES:
        raise ValueError(f"unknown category; expected one of {', '.join(CATEGORY_CODES)}")
    return value


def _district(value: str | None) -> str | None:
    if value is not None and value not in DISTRICT_CODES:
        raise ValueError(f"unknown district; expected one of {', '.join(DISTRICT_CODES)}")
    return value


class TransitionIn(_In):
    to: State
    note: Note | None = None
    public: bool = False


class BulkTransitionIn(TransitionIn):
    ticket_ids: Annotated[list[TicketId], Field(min_length=1, max_length=200)]


class NoteIn(_In):
    note: Note
    public: bool = False


class RerouteIn(_In):
    category: str | None = None
    department: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{2,64}$")] | None = None
    note: Note | None = None

    _check_category = field_validator("category")(_category)


class TriageIn(_In):
    category: str
    district: str | None = None
    note: Note | None = None

    _check_category = field_validator("category")(_category)
    _check_district = field_validator("district")(_district)


class DuplicateIn(_In):
    original_id: TicketId
    note: Note | None = None


class RatingIn(_In):
    score: Annotated[int, Field(ge=RATING_SCORE_MIN, le=RATING_SCORE_MAX)]
    comment: Annotated[str, StringConstraints(strip_whitespace=True,
                                              max_length=RATING_COMMENT_MAX)] | None \
        = None


class CitizenReplyIn(_In):
    """The citizen's answer to a handler's question, forwarded by intake (which checked the
    citizen's key and stored the photos)."""

    text: Annotated[str, StringConstraints(strip_whitespace=True,
                                           max_length=REPLY_TEXT_MAX)] | None = None
    photo_ids: Annotated[list[TicketId], Field(max_length=REPLY_PHOTOS_MAX)] = []


class ReopenIn(_In):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=REOPEN_REASON_MIN,
                                             max_length=REOPEN_REASON_MAX)]


class ClockOut(BaseModel):
    target_s: float
    elapsed_s: float
    running: bool
    paused: bool
    breached: bool
    due_at: datetime | None
    warn_at: datetime | None
    escalate_at: datetime | None
    stopped_at: datetime | None


class OwnerChangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str | None = Field(alias="from")
    to: str | None


class HistoryOut(BaseModel):
    seq: int
    at: datetime
    by: str
    role: str
    from_state: str | None
    to_state: str
    note: str | None
    public: bool
    department: str | None = None
    # "reopen_after_window" (a supervisor reopened after the citizen's window) or
    # "duplicate_undone" (a supervisor took back a duplicate mark)
    exception: str | None = None
    citizen: bool = False  # the citizen's own answer (through intake)
    photos: list[str] = []  # ids of the citizen's photos attached to this entry
    owner_change: OwnerChangeOut | None = None  # the owner before and after (None: nobody)


class DuplicateCandidateOut(BaseModel):
    ticket_id: str
    tracking_code: str
    score: float


class TicketOut(BaseModel):
    id: str
    tracking_code: str
    state: str
    category: str
    district: str | None
    department: str | None
    urgent: bool
    channel: str
    description: str
    address: str | None
    confidence: float
    created_at: datetime
    started_at: datetime
    updated_at: datetime
    sla_state: str
    expected_resolution_at: datetime | None
    clocks: dict[str, ClockOut]
    duplicate_of: str | None
    duplicate_candidates: list[DuplicateCandidateOut]
    rating: int | None
    finished_at: datetime | None = None  # the last time it reached a final state
    finished_on_time: bool | None = None  # within its resolution target then
    triage_reason: str | None = None  # why it waits in triage: not_a_report, too_short...
    assignee: str | None = None  # the handler who owns it; None: nobody yet


class TicketDetailOut(TicketOut):
    history: list[HistoryOut]


class QueueOut(BaseModel):
    total: int
    kind: str | None = None  # with ?q=: what the query was read as (code, phone, words)
    items: list[TicketOut]


class BulkResultOut(BaseModel):
    ticket_id: str
    status: int
    state: str | None = None
    error: str | None = None


class BulkOut(BaseModel):
    results: list[BulkResultOut]


class CitizenTicketOut(BaseModel):
    tracking_code: str
    state: str
    rating: int | None


class MeOut(BaseModel):
    user: str
    role: str
    department: str | None

