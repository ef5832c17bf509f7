"""Category (and district, for local matters) to department: editable configuration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROUTING_PATH = Path(__file__).parent / "config" / "routing.json"


@dataclass(frozen=True)
class Routing:
    categories: dict[str, str]
    local: dict[str, str]

    @classmethod
    def load(cls, path: Path = ROUTING_PATH) -> Routing:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(categories=dict(raw["categories"]), local=dict(raw.get("local", {})))

    def department(self, category: str, district: str | None) -> str:
        template = self.local.get(category)
        if template and district:
            return template.format(district=district)
        return self.categories[category]
