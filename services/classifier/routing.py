"""Kept only so that models trained before events v2 still unpickle: they hold a `Routing`
object, which nothing reads any more. The department is the tracker's decision
(services/tracker/config/routing.json, the one routing table). Remove once every promoted
model in the registry was trained after this change."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Routing:
    categories: dict[str, str] = field(default_factory=dict)
    local: dict[str, str] = field(default_factory=dict)
