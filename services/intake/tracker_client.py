"""Intake's calls to the tracker for what a citizen does on a resolved report (rate it,
reopen it). The tracker owns tickets; intake forwards, with its own service token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from services.intake.errors import TrackerRefused, TrackerUnavailable
from shared.settings import Settings


def citizen_action(settings: Settings, tracking_code: str, action: str,
                   body: dict[str, Any], timeout_s: float = 5.0) -> dict[str, Any]:
    url = f"{settings.tracker_url}/api/v1/citizen/{quote(tracking_code)}/{action}"
    request = urllib.request.Request(  # noqa: S310 - the tracker's configured http(s) URL
        url, data=json.dumps(body).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {settings.tracker_service_token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code in {404, 409, 422}:
            raise refusal(exc.code, exc.read()) from None
        raise TrackerUnavailable() from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise TrackerUnavailable() from None


def refusal(status: int, body: bytes) -> TrackerRefused:
    """The tracker's problem details as a domain error: its `code` (the problem type's last
    part from a tracker that does not send `code`), its params and the field it names."""
    try:
        problem = json.loads(body)
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    code = problem.get("code") or str(problem.get("type", "rejected")).rsplit("/", 1)[-1]
    errors = problem.get("errors") or [{}]
    params = problem.get("params")
    return TrackerRefused(status=status, code=str(code).replace("-", "_"),
                          detail=str(problem.get("detail") or "The ticket service refused."),
                          field=errors[0].get("field") if isinstance(errors[0], dict) else None,
                          params=params if isinstance(params, dict) else None)
