"""Intake's refusals as domain errors (shared/errors.py): each carries a stable code, the HTTP
status it answers with and the request field at fault. The app's one handler turns them into
problem details (`application/problem+json`, `code` beside `type`); the resident pages show
`translate("err." + code)`. No caller reads an English message to learn what went wrong."""

from __future__ import annotations

from typing import Any

from shared.errors import DomainError


class BadTrackingCode(DomainError):
    status, title, default_code = 400, "Bad Request", "code_format"

    def __init__(self) -> None:
        super().__init__("expected a code like HCM-2026-000123", field="tracking_code")


class BadIdempotencyKey(DomainError):
    status, title, default_code = 400, "Bad Request", "idempotency_key_format"

    def __init__(self) -> None:
        super().__init__("1 to 255 visible ASCII characters", field="Idempotency-Key")


class ReportNotFound(DomainError):
    status, title, default_code = 404, "Not Found", "code_unknown"

    def __init__(self, tracking_code: str) -> None:
        super().__init__(f"No report has the tracking code {tracking_code}.",
                         field="tracking_code")


class StaffKeyNeeded(DomainError):
    status, title, default_code = 401, "Unauthorized", "staff_key_needed"

    def __init__(self) -> None:
        super().__init__("The call_center channel needs a staff API key.", field="X-API-Key")


class WrongCitizenKey(DomainError):
    status, title, default_code = 403, "Forbidden", "citizen_key_wrong"

    def __init__(self) -> None:
        super().__init__("This is not the key given with this report.", field="citizen_key")


class IdempotencyConflict(DomainError):
    """The Idempotency-Key was used before with a different request."""

    status, title, default_code = 422, "Idempotency key reused", "idempotency_conflict"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used with a different request.",
                         field="Idempotency-Key")


class PhotoRejected(DomainError):
    """A photo attachment that is not a readable JPEG or PNG, or is too large."""

    status, title, default_code = 422, "Validation failed", "photo_type"

    def __init__(self, index: int, detail: str, *, code: str, **params: Any) -> None:
        super().__init__(detail, code=code, field=f"photos.{index}.content_base64", **params)


class TrackerRefused(DomainError):
    """The tracker refused the citizen's action (rate, reopen, reply): its status, its code
    (its problem's `code`) and the field it named."""

    title = "Rejected"

    def __init__(self, *, status: int, code: str, detail: str, field: str | None,
                 params: dict[str, Any] | None = None) -> None:
        super().__init__(detail, code=code, field=field, **(params or {}))
        self.status = status  # type: ignore[misc]


class TrackerUnavailable(DomainError):
    status, title, default_code = 503, "Service Unavailable", "tracker_unavailable"

    def __init__(self) -> None:
        super().__init__("The ticket service did not answer; try again shortly.")
        self.headers = {"Retry-After": "30"}
