"""Intake's calls to the tracker for what a citizen does on a resolved report (rate it,
reopen it). The tracker owns tickets; intake forwards, with its own service token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from shared.settings import Settings
from shared.web.problems import Problem


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
        try:
            problem = json.loads(exc.read())
        except ValueError:
            problem = {}
        if exc.code in {404, 409, 422}:
            raise Problem(exc.code, problem.get("title", "Rejected"),
                          problem.get("detail"), kind=problem.get("type", "/problems/rejected")
                          .rsplit("/", 1)[-1], errors=problem.get("errors")) from None
        raise Problem(503, "Service Unavailable", "The ticket service did not answer; "
                      "try again shortly.", kind="tracker-unavailable",
                      headers={"Retry-After": "30"}) from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise Problem(503, "Service Unavailable", "The ticket service did not answer; "
                      "try again shortly.", kind="tracker-unavailable",
                      headers={"Retry-After": "30"}) from None
