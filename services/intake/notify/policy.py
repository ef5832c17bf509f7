"""Retry backoff and quiet hours: pure functions of the clock's reading."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def backoff(attempts: int, *, base_s: float, max_s: float) -> timedelta:
    """Delay before the next try after `attempts` failed ones: doubling from base, capped."""
    exponent = min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(max_s, base_s * (2 ** exponent)))


def quiet_until(now: datetime, *, tz: str, start_hour: int = 21,
                end_hour: int = 7) -> datetime | None:
    """When `now` falls in the quiet hours [start, end) local time, the end of them (an aware
    UTC datetime); otherwise None. start > end means the quiet hours span midnight."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    hour = local.hour
    quiet = (start_hour <= hour or hour < end_hour) if start_hour > end_hour \
        else start_hour <= hour < end_hour
    if not quiet:
        return None
    day = local.date() if hour < end_hour else local.date() + timedelta(days=1)
    end = datetime.combine(day, time(end_hour), tzinfo=zone)
    return end.astimezone(now.tzinfo)
