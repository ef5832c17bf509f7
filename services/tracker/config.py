"""The tracker's configuration files (routing, SLA policies, business calendar, staff), read
from `Settings.tracker_config_dir` at start and again by `ConfigSource` while running."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.tracker.routing import RoutingTable, routing_from_config
from services.tracker.sla.calendar import (
    BusinessCalendar,
    Calendar,
    ContinuousCalendar,
    calendar_from_config,
    holidays_version,
)
from services.tracker.sla.policy import SlaPolicies, policies_from_config
from services.tracker.staff import PlainSecretError, StaffDirectory, load_directory
from shared.limits import REOPEN_WINDOW_DAYS
from shared.settings import Settings, SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackerConfig:
    routing: RoutingTable
    policies: SlaPolicies
    business: BusinessCalendar
    continuous: ContinuousCalendar
    staff: StaffDirectory
    # of what the deadlines depend on: calendar.json, sla.json and the holidays package version
    fingerprint: str = ""
    duplicate_window_days: int = 7
    duplicate_similarity: float = 0.5
    reopen_window_days: int = REOPEN_WINDOW_DAYS

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
        fingerprint=rules_fingerprint(calendar_data, sla_data),
    )


def rules_fingerprint(calendar_data: Any, sla_data: Any) -> str:
    """Changes when a deadline may change: the two files' contents or the holidays package."""
    return hashlib.sha256(json.dumps([calendar_data, sla_data, holidays_version()],
                                     sort_keys=True).encode("utf-8")).hexdigest()[:16]


class ConfigSource:
    """The current configuration, read again from the files at most every `check_s` seconds
    so that an edited calendar or SLA file reaches a running process without a restart. A
    file that no longer reads or validates keeps the last good configuration (logged)."""

    def __init__(self, settings: Settings | None, *, initial: TrackerConfig | None = None,
                 check_s: float = 30.0, monotonic: Callable[[], float] = time.monotonic
                 ) -> None:
        if initial is None and settings is None:
            raise ValueError("a ConfigSource needs settings or a configuration")
        self._settings = settings
        self._config = initial if initial is not None else load_config(settings)
        self._check_s = check_s
        self._monotonic = monotonic
        self._checked = monotonic()
        self._lock = threading.Lock()

    @classmethod
    def fixed(cls, config: TrackerConfig) -> ConfigSource:
        return cls(None, initial=config)

    def current(self) -> TrackerConfig:
        if self._settings is None or self._monotonic() - self._checked < self._check_s:
            return self._config
        with self._lock:
            if self._monotonic() - self._checked >= self._check_s:
                self._checked = self._monotonic()
                self._reload()
        return self._config

    def _reload(self) -> None:
        try:
            fresh = load_config(self._settings)
        except ValueError:
            log.error("tracker configuration not reloaded; keeping the last good one",
                      exc_info=True)
            return
        if fresh.fingerprint != self._config.fingerprint:
            log.info("tracker SLA rules changed (%s -> %s)", self._config.fingerprint,
                     fresh.fingerprint)
        self._config = fresh
