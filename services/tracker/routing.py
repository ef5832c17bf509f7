"""The routing table: (category, district) -> department, read from configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES


@dataclass(frozen=True)
class RoutingTable:
    categories: dict[str, str]
    local: dict[str, str] = field(default_factory=dict)
    overrides: dict[tuple[str, str], str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def department(self, category: str, district: str | None) -> str:
        if district and (category, district) in self.overrides:
            return self.overrides[(category, district)]
        if district and category in self.local:
            return self.local[category].format(district=district)
        return self.categories[category]

    def departments(self) -> dict[str, str]:
        """Every department a ticket can be routed to, with its display name."""
        known = dict(self.names)
        for pattern in self.local.values():
            for district in DISTRICT_CODES:
                code = pattern.format(district=district)
                known.setdefault(code, f"UBND {district}")
        for code in [*self.categories.values(), *self.overrides.values()]:
            known.setdefault(code, code)
        return known


def routing_from_config(data: dict[str, Any]) -> RoutingTable:
    categories = data.get("categories")
    if not isinstance(categories, dict):
        raise ValueError("routing: 'categories' must map every category to a department")
    missing = sorted(set(CATEGORY_CODES) - set(categories))
    if missing:
        raise ValueError(f"routing: categories without a department: {missing}")
    unknown = sorted(set(categories) - set(CATEGORY_CODES))
    if unknown:
        raise ValueError(f"routing: unknown categories {unknown}")
    local = data.get("local", {})
    for category, pattern in local.items():
        if category not in CATEGORY_CODES or "{district}" not in pattern:
            raise ValueError(f"routing: local.{category} must name a category and use {{district}}")
    overrides: dict[tuple[str, str], str] = {}
    for i, row in enumerate(data.get("overrides", [])):
        try:
            category, district, department = row["category"], row["district"], row["department"]
        except (KeyError, TypeError):
            raise ValueError(f"routing: overrides[{i}] needs category, district, department") \
                from None
        if category not in CATEGORY_CODES or district not in DISTRICT_CODES:
            raise ValueError(f"routing: overrides[{i}] names an unknown category or district")
        overrides[(category, district)] = department
    return RoutingTable(categories=dict(categories), local=dict(local), overrides=overrides,
                        names=dict(data.get("departments", {})))
