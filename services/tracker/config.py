"""The tracker's configuration files (routing, SLA policies, business calendar, staff),
loaded once at start from `Settings.tracker_config_dir`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.tracker.routing import RoutingTable, routing_from_config
from services.tracker.sla.calendar import (
    BusinessCalendar,
    Calendar,
    ContinuousCalendar,
    calendar_from_config,
)
from services.tracker.sla.policy import SlaPolicies, policies_from_config
from services.tracker.staff import PlainSecretError, StaffDirectory, load_directory
from shared.settings import Settings, SettingsError


@dataclass(frozen=True)
class TrackerConfig:
    routing: RoutingTable
    policies: SlaPolicies
    business: BusinessCalendar
    continuous: ContinuousCalendar
    staff: StaffDirectory
    fingerprint: str = ""  # of the files the deadlines depend on (SLA and calendar)
    duplicate_window_days: int = 7
    duplicate_similarity: float = 0.5
    reopen_window_days: int = 7

    def calendar_for(self, *, urgent: bool) -> Calendar:
        return self.continuous if urgent else self.business


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from exc


def load_config(settings: Settings) -> TrackerConfig:
    folder = settings.tracker_config_dir
    calendar_data, sla_data = _read(folder / "calendar.json"), _read(folder / "sla.json")
    business = calendar_from_config(calendar_data)
    demo_file = folder / "staff.demo.json"
    staff_file = settings.staff_users_file or demo_file
    # plain-text demo rows only from the bundled demo file, never in production
    allow_plain = settings.env != "production" and staff_file.resolve() == demo_file.resolve()
    try:
        staff = load_directory(staff_file, allow_plain=allow_plain)
    except PlainSecretError as exc:
        raise SettingsError(f"STAFF_USERS_FILE ({staff_file}): {exc}") from exc
    return TrackerConfig(
        routing=routing_from_config(_read(folder / "routing.json")),
        policies=policies_from_config(sla_data),
        business=business,
        continuous=ContinuousCalendar(),
        staff=staff,
        fingerprint=hashlib.sha256(json.dumps([calendar_data, sla_data], sort_keys=True)
                                   .encode("utf-8")).hexdigest()[:16],
    )
