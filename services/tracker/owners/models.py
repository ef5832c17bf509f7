"""Request and response models of the owners API (they validate and feed OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.tracker.tickets.models import TicketId, _In

User = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]


class AssignIn(_In):
    assignee: User | None  # None: nobody owns it


class BulkAssignIn(AssignIn):
    ticket_ids: Annotated[list[TicketId], Field(min_length=1, max_length=200)]


class AvailabilityIn(_In):
    available: bool


class RoundRobinIn(_In):
    enabled: bool


class LoadRowOut(BaseModel):
    department: str | None
    user: str | None  # None: the department's tickets nobody owns
    open: int
    oldest_due: datetime | None
    available: bool | None


class LoadOut(BaseModel):
    items: list[LoadRowOut]


class HandlerStatsRowOut(BaseModel):
    user: str
    department: str | None
    resolved: int
    on_time: int
    on_time_rate: float | None
    median_hours: float | None


class HandlerStatsOut(BaseModel):
    days: int
    items: list[HandlerStatsRowOut]


class AvailabilityOut(BaseModel):
    user: str
    available: bool


class RoundRobinOut(BaseModel):
    department: str
    enabled: bool
