"""SLA targets per category and urgency, read from editable configuration (sla.json).

Durations are working time on the ticket's calendar: business hours for normal tickets, wall
time for urgent (24/7) ones. Only "h" and "m" units exist ("24h" is 24 working hours, i.e.
three 8-hour working days); a "day" unit would mean 8 or 24 hours depending on the calendar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shared.taxonomy import CATEGORY_CODES

SLA_PATH = Path(__file__).parent.parent / "config" / "sla.json"
CLOCK_NAMES: tuple[str, ...] = ("first_response", "resolution")
URGENCIES: tuple[str, ...] = ("normal", "urgent")

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?")
_TOP_KEYS = frozenset({"about", "warn_fraction", "escalate_fraction", "defaults", "categories"})


@dataclass(frozen=True)
class Targets:
    first_response: timedelta
    resolution: timedelta

    def __post_init__(self) -> None:
        for name in CLOCK_NAMES:
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ValueError(f"{name}: target must be a positive duration, got {value!r}")
        if self.first_response > self.resolution:
            raise ValueError(
                f"first_response: target {self.first_response} exceeds resolution target "
                f"{self.resolution}"
            )


@dataclass(frozen=True)
class SlaPolicies:
    """Default targets for normal and urgent tickets, per-category overrides (already merged
    with the defaults, keyed by (category, urgent)) and the alert thresholds as fractions of
    a target."""

    normal: Targets
    urgent: Targets
    overrides: Mapping[tuple[str, bool], Targets] = field(default_factory=dict, hash=False)
    warn_fraction: float = 0.75
    escalate_fraction: float = 1.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        if not 0 < self.warn_fraction < 1:
            raise ValueError(f"warn_fraction: expected 0 < value < 1, got {self.warn_fraction}")
        if not self.escalate_fraction > 1:
            raise ValueError(
                f"escalate_fraction: expected a value > 1, got {self.escalate_fraction}"
            )

    def targets_for(self, *, category: str | None, urgent: bool) -> Targets:
        """Targets of a ticket; an unknown or missing category gets the defaults."""
        default = self.urgent if urgent else self.normal
        if category is None:
            return default
        return self.overrides.get((category, urgent), default)


def parse_duration(value: Any, *, key: str) -> timedelta:
    """'4h', '30m' or '1h30m' as a positive timedelta; anything else raises ValueError."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(
            f"{key}: expected a duration like '4h', '30m' or '1h30m' (units h and m only), "
            f"got {value!r}"
        )
    duration = timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))
    if duration <= timedelta(0):
        raise ValueError(f"{key}: duration must be positive, got {value!r}")
    return duration


def _object(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected an object")
    return value


def _fraction(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key}: expected a number, got {value!r}")
    return float(value)


def _targets(raw: Any, key: str, base: Targets | None) -> Targets:
    """Targets from {"first_response": "4h", "resolution": "40h"}; with `base`, keys may be
    left out and keep the base value."""
    data = _object(raw, key)
    unknown = sorted(set(data) - set(CLOCK_NAMES))
    if unknown:
        raise ValueError(f"{key}: unknown key(s) {unknown}, expected {list(CLOCK_NAMES)}")
    values: dict[str, timedelta] = {}
    for name in CLOCK_NAMES:
        if name in data:
            values[name] = parse_duration(data[name], key=f"{key}.{name}")
        elif base is not None:
            values[name] = getattr(base, name)
        else:
            raise ValueError(f"{key}.{name}: missing")
    try:
        return Targets(**values)
    except ValueError as exc:
        raise ValueError(f"{key}.{exc}") from None


def policies_from_config(
    data: Mapping[str, Any], *, category_codes: Collection[str] = CATEGORY_CODES
) -> SlaPolicies:
    """Build policies from the sla.json structure; a bad value raises ValueError naming its key
    (dotted path, e.g. "categories.flooding.normal.resolution")."""
    data = _object(data, "sla config")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ValueError(f"sla config: unknown key(s) {unknown}")
    defaults = _object(data.get("defaults"), "defaults")
    if set(defaults) != set(URGENCIES):
        raise ValueError(f"defaults: expected exactly the keys {list(URGENCIES)}")
    base = {
        urgency: _targets(defaults[urgency], f"defaults.{urgency}", None) for urgency in URGENCIES
    }
    overrides: dict[tuple[str, bool], Targets] = {}
    for category, raw in _object(data.get("categories", {}), "categories").items():
        key = f"categories.{category}"
        if category not in category_codes:
            raise ValueError(f"{key}: not a category code of shared/taxonomy.json")
        per_urgency = _object(raw, key)
        unknown = sorted(set(per_urgency) - set(URGENCIES))
        if unknown or not per_urgency:
            raise ValueError(f"{key}: expected 'normal' and/or 'urgent', got {sorted(per_urgency)}")
        for urgency, targets in per_urgency.items():
            merged = _targets(targets, f"{key}.{urgency}", base[urgency])
            overrides[(category, urgency == "urgent")] = merged
    warn = _fraction(data, "warn_fraction", 0.75)
    escalate = _fraction(data, "escalate_fraction", 1.5)
    return SlaPolicies(
        normal=base["normal"],
        urgent=base["urgent"],
        overrides=overrides,
        warn_fraction=warn,
        escalate_fraction=escalate,
    )


def load_policies(path: Path = SLA_PATH) -> SlaPolicies:
    return policies_from_config(json.loads(Path(path).read_text(encoding="utf-8")))
