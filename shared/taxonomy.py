"""The label contract (category, district and urgency codes), loaded from taxonomy.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Category:
    code: str
    name_vi: str
    covers: str
    default_department: str


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    districts: tuple[str, ...]
    urgent_rule: str

    @property
    def category_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    def category(self, code: str) -> Category:
        for cat in self.categories:
            if cat.code == code:
                return cat
        raise KeyError(code)


TAXONOMY_PATH = Path(__file__).with_name("taxonomy.json")


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return Taxonomy(
        categories=tuple(
            Category(c["code"], c["vi"], c["covers"], c["default_department"])
            for c in raw["categories"]
        ),
        districts=tuple(raw["districts"]["codes"]),
        urgent_rule=raw["urgent"],
    )


_DEFAULT = load_taxonomy()
CATEGORY_CODES: tuple[str, ...] = _DEFAULT.category_codes
DISTRICT_CODES: tuple[str, ...] = _DEFAULT.districts
