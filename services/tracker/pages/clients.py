"""The operator console's two calls to other services, made by the tracker's server:
the classifier's live suggestion and the report's submission to intake.

The browser only ever talks to the tracker (same origin, session cookie, CSRF token): the
classifier needs no CORS and is not exposed to browsers, and intake's staff API key never
leaves the server.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from shared.settings import Settings


class ServiceUnavailable(Exception):
    """The other service did not answer, or answered with an error we cannot show."""


@dataclass
class Submission:
    """Intake's answer: the created report, or the fields it refused."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def created(self) -> bool:
        return self.status == 201

    def field_errors(self) -> list[dict[str, str]]:
        return list(self.body.get("errors") or [])


def _post(url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float
          ) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - configured http(s) service URL
        url, data=json.dumps(body).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read())
        except ValueError:
            payload = {}
        return exc.code, payload if isinstance(payload, dict) else {}
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ServiceUnavailable(str(exc)) from None


def classify(settings: Settings, text: str, timeout_s: float = 3.0) -> dict[str, Any]:
    status, body = _post(f"{settings.classifier_url.rstrip('/')}/api/v1/classify",
                         {"text": text}, {}, timeout_s)
    if status != 200:
        raise ServiceUnavailable(f"classifier answered {status}")
    return body


def submit_call(settings: Settings, report: dict[str, Any], *, idempotency_key: str,
                timeout_s: float = 10.0) -> Submission:
    if not settings.staff_api_keys:
        raise ServiceUnavailable("no STAFF_API_KEYS configured for the call-center channel")
    status, body = _post(f"{settings.intake_url.rstrip('/')}/api/v1/reports", report,
                         {"X-API-Key": settings.staff_api_keys[0],
                          "Idempotency-Key": idempotency_key}, timeout_s)
    if status not in {201, 422}:
        raise ServiceUnavailable(f"intake answered {status}")
    return Submission(status, body)


def _staff_get(settings: Settings, path: str, timeout_s: float) -> tuple[bytes, str]:
    if not settings.staff_api_keys:
        raise ServiceUnavailable("no STAFF_API_KEYS configured for intake's staff API")
    request = urllib.request.Request(  # noqa: S310 - configured http(s) service URL
        f"{settings.intake_url.rstrip('/')}{path}",
        headers={"X-API-Key": settings.staff_api_keys[0]})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310
            return resp.read(), resp.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise LookupError(path) from None
        raise ServiceUnavailable(f"intake answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ServiceUnavailable(str(exc)) from None


def report_photos(settings: Settings, report_id: str, timeout_s: float = 3.0
                  ) -> list[dict[str, Any]]:
    """The report's photos (its own, then the citizen's answers'): ids and kinds, no bytes."""
    raw, _ = _staff_get(settings, f"/api/v1/staff/reports/{report_id}/photos", timeout_s)
    try:
        return list(json.loads(raw)["items"])
    except (ValueError, KeyError, TypeError):
        raise ServiceUnavailable("intake's photo list is malformed") from None


def report_photo(settings: Settings, report_id: str, photo_id: str, *, size: str,
                 timeout_s: float = 10.0) -> tuple[bytes, str]:
    return _staff_get(settings, f"/api/v1/staff/reports/{report_id}/photos/{photo_id}"
                                f"?size={size}", timeout_s)


def failed_notifications(settings: Settings, timeout_s: float = 2.0) -> list[dict[str, Any]]:
    """Citizen messages intake could not deliver (tracking code, channel, reason: no
    contact), for the operators to follow up by phone."""
    raw, _ = _staff_get(settings, "/api/v1/notifications?state=failed", timeout_s)
    try:
        return list(json.loads(raw)["items"])
    except (ValueError, KeyError, TypeError):
        raise ServiceUnavailable("intake's notification list is malformed") from None
