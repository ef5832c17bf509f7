"""Datetimes as the city reads them: ISO 8601 with the Asia/Ho_Chi_Minh offset."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

CITY_TZ = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def iso_local(value: datetime | None, tz: str = CITY_TZ) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone(tz)).isoformat(timespec="seconds")


def parse_iso(value: str) -> datetime:
    """Parse a W3C/ISO 8601 datetime; a missing offset is read as city time."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(CITY_TZ))
    return parsed
