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
from services.tracker.staff import StaffDirectory, load_directory
from shared.settings import Settings


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
    staff_file = settings.staff_users_file or folder / "staff.demo.json"
    return TrackerConfig(
        routing=routing_from_config(_read(folder / "routing.json")),
        policies=policies_from_config(sla_data),
        business=business,
        continuous=ContinuousCalendar(),
        staff=load_directory(staff_file),
        fingerprint=hashlib.sha256(json.dumps([calendar_data, sla_data], sort_keys=True)
                                   .encode("utf-8")).hexdigest()[:16],
    )
