"""Domain errors: a refusal with a stable code and the HTTP status it answers with.

The services raise them; each app has one handler that answers problem details
(`type` is /problems/<code>; `code` and `params` ride along) and the pages show
`translate("err." + code, **params)`, so no caller ever reads an English message to learn
what went wrong."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad Request"
    default_code: ClassVar[str] = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None,
                 **params: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.field = field  # the request field at fault, when there is one
        self.params = params  # for the translated message
        self.headers: dict[str, str] = {}  # e.g. Retry-After on a 503

    @property
    def message_key(self) -> str:
        return f"err.{self.code}"
