"""The month's reports, drawn before the run (pure: a seed in, the same arrivals out).

The city's rhythm: fewer reports at the weekend, a day that starts at 6, peaks in the morning
and early afternoon and fades after 22:00; the category mix of the 1022 portal (about 43% on
administrative procedures); and one storm: a burst of flooding reports in two hours. The texts
are the classifier's validation split (never trained on), so the classifier is wrong or unsure
on some of them as it would be on real reports.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.settings import REPO_ROOT

CITY = ZoneInfo("Asia/Ho_Chi_Minh")
CORPUS = REPO_ROOT / "services" / "classifier" / "corpus" / "validation"

# share of reports per category (administrative procedures first, as on the portal)
CATEGORY_MIX: dict[str, float] = {
    "admin_services": 0.43, "traffic": 0.09, "environment": 0.07, "urban_order": 0.07,
    "construction": 0.05, "noise": 0.05, "land_housing": 0.04, "flooding": 0.03,
    "electricity": 0.03, "water_supply": 0.03, "trees_lighting": 0.03, "security": 0.02,
    "social_welfare": 0.02, "commerce": 0.015, "health": 0.01, "education": 0.01,
    "fire_safety": 0.005,
}
# reports per hour of the day, relative (0 = midnight, city time)
HOURLY = (0.15, 0.08, 0.05, 0.05, 0.08, 0.3, 0.8, 1.5, 2.2, 2.4, 2.3, 1.9, 1.2, 1.5, 2.0,
          2.1, 1.9, 1.5, 1.1, 1.2, 1.3, 1.1, 0.7, 0.35)
WEEKDAY = (1.0, 1.0, 0.98, 0.97, 0.95, 0.6, 0.45)  # Monday .. Sunday
CHANNELS = (("web", 0.35), ("app", 0.4), ("call_center", 0.25))
ADDRESS_STREETS = ("Nguyễn Trãi", "Lê Lợi", "Cách Mạng Tháng 8", "Điện Biên Phủ", "Phan Xích Long",
                   "Nguyễn Văn Linh", "Lý Thường Kiệt", "Võ Văn Kiệt", "Hoàng Văn Thụ")


@dataclass(frozen=True)
class Arrival:
    at: datetime           # UTC, when the citizen sends it
    category: str          # what the report is about (the truth the operator knows)
    text: str
    district: str | None
    channel: str
    surge: bool = False


@dataclass(frozen=True)
class MonthPlan:
    start: datetime
    days: int
    surge_start: datetime
    surge_hours: float
    arrivals: tuple[Arrival, ...]


def load_texts(folder: Path = CORPUS) -> dict[str, list[tuple[str, str | None]]]:
    """category -> [(text, district)] from the validation split."""
    texts: dict[str, list[tuple[str, str | None]]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("category") in CATEGORY_MIX and len(row.get("text", "")) >= 10:
                texts.setdefault(row["category"], []).append((row["text"], row.get("district")))
    return texts


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _moments(rng: random.Random, start: datetime, days: int, n: int) -> list[datetime]:
    """`n` instants over `days` days, following the weekday and hourly rhythm."""
    slots = [(day, hour) for day in range(days) for hour in range(24)]
    weights = [WEEKDAY[(start + timedelta(days=day)).astimezone(CITY).weekday()] * HOURLY[hour]
               for day, hour in slots]
    picked = rng.choices(slots, weights=weights, k=n)
    return sorted(start + timedelta(days=day, hours=hour, seconds=rng.uniform(0, 3600))
                  for day, hour in picked)


def plan_month(*, reports: int = 15_000, surge: int = 2_000, days: int = 30,
               start: datetime = datetime(2026, 11, 2, tzinfo=CITY), seed: int = 1022,
               surge_day: int | None = None, surge_hours: float = 2.0,
               districts: Sequence[str] = (), texts: dict | None = None) -> MonthPlan:
    """`reports` in all, `surge` of them flooding reports within `surge_hours` on
    `surge_day` (default: the middle of the month) from 16:00 city time."""
    if not 0 <= surge <= reports:
        raise ValueError("the surge is part of the month's reports")
    rng = random.Random(seed)
    texts = texts or load_texts()
    start_utc = start.astimezone(CITY).replace(hour=0, minute=0, second=0, microsecond=0)
    surge_day = days // 2 if surge_day is None else surge_day
    surge_start = start_utc + timedelta(days=surge_day, hours=16)
    categories = list(CATEGORY_MIX.items())
    out: list[Arrival] = []

    def make(at: datetime, category: str, *, in_surge: bool) -> Arrival:
        text, district = rng.choice(texts[category])
        if district is None and districts and rng.random() < 0.6:
            district = rng.choice(districts)
        # a house number and a street, as citizens write them: reports are not all one text
        text = f"{text} (số {rng.randint(1, 400)} {rng.choice(ADDRESS_STREETS)})"
        return Arrival(at=at, category=category, text=text, district=district,
                       channel=_weighted(rng, CHANNELS), surge=in_surge)

    for at in _moments(rng, start_utc, days, reports - surge):
        out.append(make(at, _weighted(rng, categories), in_surge=False))
    span = surge_hours * 3600
    for _ in range(surge):
        # the storm builds up and fades: a triangular spread over the two hours
        at = surge_start + timedelta(seconds=rng.triangular(0, span, span / 3))
        out.append(make(at, "flooding", in_surge=True))
    out.sort(key=lambda a: a.at)
    return MonthPlan(start=start_utc, days=days, surge_start=surge_start,
                     surge_hours=surge_hours, arrivals=tuple(out))
