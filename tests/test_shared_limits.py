"""Limits two services apply alike live in shared/limits.py: intake's citizen models and the
tracker's citizen endpoint models accept and refuse the same inputs."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.intake.reports.models import CitizenRatingIn, CitizenReopenIn
from services.tracker.tickets.models import RatingIn, ReopenIn
from shared.limits import RATING_COMMENT_MAX, REOPEN_REASON_MAX, REOPEN_REASON_MIN

ROOT = Path(__file__).resolve().parents[1]
KEY = "ABCD-EFGH-JKLM"


def _accepts(model: type, data: dict) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True


@given(st.text(alphabet="ab ạ\t", max_size=REOPEN_REASON_MIN * 3))
def test_reopen_reason_same_rule_in_both_services(reason: str) -> None:
    intake = _accepts(CitizenReopenIn, {"citizen_key": KEY, "reason": reason})
    tracker = _accepts(ReopenIn, {"reason": reason})
    assert intake == tracker == (len(reason.strip()) >= REOPEN_REASON_MIN)


def test_boundaries_come_from_shared_limits() -> None:
    for model in (CitizenReopenIn, ReopenIn):
        schema = model.model_json_schema()["properties"]["reason"]
        assert (schema["minLength"], schema["maxLength"]) == (REOPEN_REASON_MIN,
                                                              REOPEN_REASON_MAX)
    for model in (CitizenRatingIn, RatingIn):
        comment = model.model_json_schema()["properties"]["comment"]["anyOf"][0]
        assert comment["maxLength"] == RATING_COMMENT_MAX


def test_no_copy_of_the_reopen_minimum_in_the_services() -> None:
    copies = [str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py")
              if re.search(r"min_length=5\b|min=5\b", p.read_text("utf-8"))]
    assert copies == []
