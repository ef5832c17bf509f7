"""Answer template models (validation and OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from services.tracker.tickets.models import _In

Department = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{2,64}$")]


class TemplateIn(_In):
    department: Department
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=120)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=4000)]


class TemplateOut(BaseModel):
    id: str
    department: str
    title: str
    body: str
    updated_by: str
    updated_at: datetime


class TemplateListOut(BaseModel):
    items: list[TemplateOut]


class RenderedOut(BaseModel):
    template_id: str
    ticket_id: str
    text: str
