"""Working-time calendars: how much working time lies between two instants, and when an amount
of working time runs out.

Normal tickets count on a `BusinessCalendar` (the city's office hours, weekends, Vietnamese
public holidays including Tết, configured days off and make-up working days); urgent tickets
count on a `ContinuousCalendar` (24/7). Both take aware datetimes in any time zone and return
UTC. Work is done per day, never per minute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from shared.timefmt import CITY_TZ

WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOWS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 0), time(17, 0)),
)
MONDAY_TO_FRIDAY: frozenset[int] = frozenset(range(5))
CALENDAR_PATH = Path(__file__).parent.parent / "config" / "calendar.json"

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_HH_MM = re.compile(r"\d{2}:\d{2}")


@runtime_checkable
class Calendar(Protocol):
    def is_working_day(self, d: date) -> bool: ...

    def add(self, start: datetime, amount: timedelta) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> timedelta: ...


@lru_cache(maxsize=128)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """Public holidays (observed and substituted days off included) of one country and year."""
    return frozenset(holidays.country_holidays(country, years=year))


@lru_cache(maxsize=128)
def package_workdays(country: str, year: int) -> frozenset[date]:
    """Weekend days the `holidays` package lists as worked that year (make-up Saturdays)."""
    listed = getattr(holidays.country_holidays(country, years=year), "weekend_workdays", ())
    return frozenset(d for d in listed if d.year == year)


def holidays_version() -> str:
    return str(getattr(holidays, "__version__", "unknown"))


@lru_cache(maxsize=8192)
def _utc_windows(
    tz: ZoneInfo, windows: tuple[tuple[time, time], ...], d: date
) -> tuple[tuple[datetime, datetime], ...]:
    """The working windows of local date `d` as UTC instants (exact across offset changes)."""
    return tuple(
        (
            datetime.combine(d, opens, tzinfo=tz).astimezone(UTC),
            datetime.combine(d, closes, tzinfo=tz).astimezone(UTC),
        )
        for opens, closes in windows
    )


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")
    return value.astimezone(UTC)


def _check_amount(amount: timedelta) -> None:
    if amount < _ZERO:
        raise ValueError(f"amount must not be negative, got {amount}")


def _dates(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


@dataclass(frozen=True)
class BusinessCalendar:
    """Office hours in `tz`: `windows` on `workdays`, minus public holidays and extra days off,
    plus make-up working days (which use the same windows): the weekend days the `holidays`
    package lists as worked (`weekend_workdays`, when `country_holidays`) and `makeup_days`.

    A date listed in `makeup_days` is a working day even if it is a weekend or a public holiday:
    explicit configuration wins. Iterables are accepted and frozen, so the calendar stays
    hashable.
    """

    tz: ZoneInfo = ZoneInfo(CITY_TZ)
    windows: tuple[tuple[time, time], ...] = DEFAULT_WINDOWS
    workdays: frozenset[int] = MONDAY_TO_FRIDAY
    country_holidays: bool = True
    extra_days_off: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()
    country: str = "VN"

    def __post_init__(self) -> None:
        object.__setattr__(self, "windows", tuple(tuple(w) for w in self.windows))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "makeup_days", frozenset(self.makeup_days))
        if not isinstance(self.tz, ZoneInfo):
            raise ValueError(f"tz must be a ZoneInfo, got {self.tz!r}")
        if not self.windows:
            raise ValueError("windows: at least one working window is needed")
        previous_end: time | None = None
        for i, window in enumerate(self.windows):
            if len(window) != 2 or not all(isinstance(t, time) for t in window):
                raise ValueError(f"windows[{i}]: expected a (start, end) pair of times")
            opens, closes = window
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError(f"windows[{i}]: times are local to tz, drop their tzinfo")
            if opens >= closes:
                raise ValueError(f"windows[{i}]: start {opens} is not before end {closes}")
            if previous_end is not None and opens < previous_end:
                raise ValueError(f"windows[{i}]: overlaps or precedes the previous window")
            previous_end = closes
        if not self.workdays or not self.workdays <= frozenset(range(7)):
            raise ValueError(f"workdays: expected weekday numbers 0-6, got {set(self.workdays)}")
        both = self.extra_days_off & self.makeup_days
        if both:
            raise ValueError(f"makeup_days: also listed in extra_days_off: {sorted(both)}")

    def is_working_day(self, d: date) -> bool:
        if d in self.makeup_days:
            return True
        if d in self.extra_days_off:
            return False
        if d.weekday() not in self.workdays:
            return self.country_holidays and d in package_workdays(self.country, d.year)
        return not (self.country_holidays and d in public_holidays(self.country, d.year))

    def days_off(self, year: int) -> list[date]:
        """Every date of `year` on a working weekday that is not worked, in order."""
        return [d for d in _dates(year) if d.weekday() in self.workdays
                and not self.is_working_day(d)]

    def working_weekend_days(self, year: int) -> list[date]:
        """Every date of `year` outside the working weekdays that is worked, in order."""
        return [d for d in _dates(year) if d.weekday() not in self.workdays
                and self.is_working_day(d)]

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant t >= start with `between(start, t) == amount`, in UTC.

        Counting starts at the next opening when `start` is outside working time, and an amount
        that ends exactly at a closing returns the closing (11:30, not 13:00). `amount == 0`
        returns `start` itself (in UTC), even outside working time: nothing has to elapse.
        """
        at = _as_utc(start, "start")
        _check_amount(amount)
        if not amount:
            return at
        remaining = amount
        day = at.astimezone(self.tz).date()
        # Terminates: workdays is not empty and days off are finite.
        while True:
            if self.is_working_day(day):
                for opens, closes in _utc_windows(self.tz, self.windows, day):
                    if closes <= at:
                        continue
                    begin = max(opens, at)
                    free = closes - begin
                    if remaining <= free:
                        return begin + remaining
                    remaining -= free
            day += _ONE_DAY

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); zero when end <= start."""
        lo = _as_utc(start, "start")
        hi = _as_utc(end, "end")
        total = _ZERO
        if hi <= lo:
            return total
        day = lo.astimezone(self.tz).date()
        last = hi.astimezone(self.tz).date()
        while day <= last:
            if self.is_working_day(day):
                for opens, closes in _utc_windows(self.tz, self.windows, day):
                    overlap = min(closes, hi) - max(opens, lo)
                    if overlap > _ZERO:
                        total += overlap
            day += _ONE_DAY
        return total


@dataclass(frozen=True)
class ContinuousCalendar:
    """Every instant is working time (urgent tickets)."""

    def is_working_day(self, d: date) -> bool:
        return True

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """`start + amount` in UTC; `amount == 0` returns `start`."""
        at = _as_utc(start, "start")
        _check_amount(amount)
        return at + amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Elapsed time in [start, end); zero when end <= start."""
        return max(_as_utc(end, "end") - _as_utc(start, "start"), _ZERO)


_CONFIG_KEYS = frozenset(
    {"about", "timezone", "windows", "workdays", "country", "extra_days_off", "makeup_days"}
)


def _parse_time(value: Any, key: str) -> time:
    if not isinstance(value, str) or not _HH_MM.fullmatch(value):
        raise ValueError(f"calendar config: {key}: expected 'HH:MM', got {value!r}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"calendar config: {key}: not a time of day: {value!r}") from None


def _parse_dates(data: Mapping[str, Any], key: str) -> frozenset[date]:
    values = data.get(key, [])
    if not isinstance(values, list):
        raise ValueError(f"calendar config: {key}: expected a list of 'YYYY-MM-DD' dates")
    days: set[date] = set()
    for i, value in enumerate(values):
        try:
            days.add(date.fromisoformat(value))
        except (TypeError, ValueError):
            raise ValueError(
                f"calendar config: {key}[{i}]: expected 'YYYY-MM-DD', got {value!r}"
            ) from None
    return frozenset(days)


def _parse_windows(value: Any) -> tuple[tuple[time, time], ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("calendar config: windows: expected a list of ['HH:MM', 'HH:MM'] pairs")
    windows: list[tuple[time, time]] = []
    for i, pair in enumerate(value):
        key = f"windows[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"calendar config: {key}: expected ['HH:MM', 'HH:MM']")
        windows.append((_parse_time(pair[0], key), _parse_time(pair[1], key)))
    return tuple(windows)


def _parse_workdays(value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not value:
        raise ValueError("calendar config: workdays: expected a list like ['mon', 'tue']")
    days: set[int] = set()
    for i, name in enumerate(value):
        if not isinstance(name, str) or name.lower() not in WEEKDAY_NAMES:
            raise ValueError(
                f"calendar config: workdays[{i}]: expected one of {WEEKDAY_NAMES}, got {name!r}"
            )
        days.add(WEEKDAY_NAMES.index(name.lower()))
    return frozenset(days)


def calendar_from_config(data: Mapping[str, Any]) -> BusinessCalendar:
    """Build a calendar from the calendar.json structure; a bad value raises ValueError naming
    its key. Missing keys take the defaults of `BusinessCalendar`; `"country": null` turns
    public holidays off."""
    if not isinstance(data, Mapping):
        raise ValueError("calendar config: expected a JSON object")
    unknown = sorted(set(data) - _CONFIG_KEYS)
    if unknown:
        raise ValueError(f"calendar config: unknown key(s) {unknown}")
    tz_name = data.get("timezone", CITY_TZ)
    try:
        tz = ZoneInfo(tz_name)
    except (TypeError, ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"calendar config: timezone: unknown time zone {tz_name!r}") from None
    country = data.get("country", "VN")
    if country is not None and country not in holidays.list_supported_countries():
        raise ValueError(f"calendar config: country: no public holidays known for {country!r}")
    windows = _parse_windows(data["windows"]) if "windows" in data else DEFAULT_WINDOWS
    workdays = _parse_workdays(data["workdays"]) if "workdays" in data else MONDAY_TO_FRIDAY
    try:
        return BusinessCalendar(
            tz=tz,
            windows=windows,
            workdays=workdays,
            country_holidays=country is not None,
            extra_days_off=_parse_dates(data, "extra_days_off"),
            makeup_days=_parse_dates(data, "makeup_days"),
            country=country or "VN",
        )
    except ValueError as exc:
        raise ValueError(f"calendar config: {exc}") from None


def load_calendar(path: Path = CALENDAR_PATH) -> BusinessCalendar:
    return calendar_from_config(json.loads(Path(path).read_text(encoding="utf-8")))
