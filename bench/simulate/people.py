"""The people around the system: handlers who work office hours (some departments slower than
others), on-duty crews for urgent tickets, and citizens who rate or reopen. Pure decisions:
a random generator and times in, plans out."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

CITY = ZoneInfo("Asia/Ho_Chi_Minh")
# The city's office hours (Monday to Friday): 7:30-11:30 and 13:00-17:00.
OFFICE = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))


@dataclass(frozen=True)
class Pace:
    """Hours of office time a department's handlers need: until the first answer (mean of an
    exponential) and from there to the resolution (median of a log-normal)."""
    first_response_h: float
    resolution_h: float
    spread: float = 0.6


FIRST_RESPONSE_S = 4 * 3600  # the default first-response targets (services/tracker/config)
FIRST_RESPONSE_URGENT_S = 3600
DEFAULT_PACE = Pace(first_response_h=1.0, resolution_h=7.0)
PACES: dict[str, Pace] = {
    # slow departments: paperwork through several offices, land records, inspections
    "van_phong_ubnd_tp": Pace(first_response_h=1.5, resolution_h=16.0, spread=0.7),
    "so_nong_nghiep_moi_truong": Pace(first_response_h=2.5, resolution_h=22.0, spread=0.7),
    "so_xay_dung": Pace(first_response_h=2.0, resolution_h=14.0),
    # quick ones
    "dien_luc": Pace(first_response_h=0.5, resolution_h=4.0),
    "cap_nuoc": Pace(first_response_h=0.5, resolution_h=5.0),
    "thoat_nuoc_do_thi": Pace(first_response_h=0.7, resolution_h=6.0),
}


def pace(department: str | None) -> Pace:
    return PACES.get(department or "", DEFAULT_PACE)


@lru_cache(maxsize=4096)
def office_seconds(start: datetime, end: datetime) -> float:
    """Office time between two instants (weekdays only)."""
    total = 0.0
    day = start.astimezone(CITY).date()
    while True:
        if day.weekday() < 5:
            for opens, closes in OFFICE:
                a = datetime.combine(day, opens, CITY)
                b = datetime.combine(day, closes, CITY)
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
        day += timedelta(days=1)
        if datetime.combine(day, time(0), CITY) >= end:
            return total


@dataclass
class Work:
    """A ticket as its handlers see it: how much work is left before each move."""
    ticket_id: str
    department: str | None
    urgent: bool
    first_response_s: float
    resolution_s: float
    counted_until: datetime | None = None  # work is counted from here (None: the tick's start)
    done_s: float = 0.0
    answered: bool = False

    def advance(self, seconds: float) -> str | None:
        """Work `seconds` on it; the move now due, if any."""
        self.done_s += seconds
        if self.done_s >= self.resolution_s:
            return "resolved"
        if not self.answered and self.done_s >= self.first_response_s:
            self.answered = True
            return "in_progress"
        return None


def plan_work(rng: random.Random, *, ticket_id: str, department: str | None, urgent: bool,
              reopened: bool = False, since: datetime | None = None) -> Work:
    p = pace(department)
    scale = 0.25 if urgent else (0.4 if reopened else 1.0)
    first = rng.expovariate(1 / (p.first_response_h * 3600)) * (0.25 if urgent else 1.0)
    resolution = first + rng.lognormvariate(0, p.spread) * p.resolution_h * 3600 * scale
    if resolution <= (FIRST_RESPONSE_URGENT_S if urgent else FIRST_RESPONSE_S):
        first = resolution  # solved before an answer was due: no separate acknowledgement
    return Work(ticket_id=ticket_id, department=department, urgent=urgent,
                first_response_s=first, resolution_s=resolution, counted_until=since)


@dataclass(frozen=True)
class CitizenReply:
    at: datetime
    action: str            # "rating" or "reopen"
    score: int | None = None


def citizen_reply(rng: random.Random, *, resolved_at: datetime, on_time: bool,
                  reopened_before: bool) -> CitizenReply | None:
    """What the citizen does after a resolution: most rate it (better when it came on time),
    a few reopen it (once), the rest say nothing."""
    if not reopened_before and rng.random() < (0.04 if on_time else 0.12):
        return CitizenReply(at=resolved_at + timedelta(hours=rng.uniform(2, 48)),
                            action="reopen")
    if rng.random() < 0.6:
        scores = (5, 5, 5, 4, 4, 4, 4, 3) if on_time else (5, 4, 4, 3, 3, 2, 2, 1)
        return CitizenReply(at=resolved_at + timedelta(hours=rng.uniform(0.5, 72)),
                            action="rating", score=rng.choice(scores))
    return None
