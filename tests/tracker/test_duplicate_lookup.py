"""The duplicate finder's lookup: open, unmarked tickets of the batch's categories and
districts within the window, read by (category, district, created_at) on the real store;
no index on the band keys (twelve entries a ticket that the embedded store rewrote on every
change of a ticket, for a lookup it never used them for)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING

from services.tracker.store import TICKETS, init_db
from services.tracker.tickets.repository import similar_open

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _ticket(_id: str, *, category: str = "flooding", district: str = "quan_1",
            state: str = "assigned", age_days: float = 1, duplicate_of: str | None = None):
    return {"_id": _id, "tracking_code": f"HCM-{_id}", "category": category,
            "district": district, "state": state, "duplicate_of": duplicate_of,
            "created_at": NOW - timedelta(days=age_days), "dup_keys": [f"0:{_id}"]}


def test_the_lookup_reads_open_unmarked_tickets_of_the_pairs_in_the_window(tdb):
    tdb[TICKETS].insert_many([
        _ticket("open"), _ticket("progress", state="in_progress", age_days=2),
        _ticket("reopened", state="reopened", age_days=0.5),
        _ticket("resolved", state="resolved"), _ticket("closed", state="closed"),
        _ticket("marked", state="duplicate", duplicate_of="open"),
        _ticket("old", age_days=30), _ticket("other_district", district="quan_3"),
        _ticket("other_category", category="noise"),
        _ticket("noise_q3", category="noise", district="quan_3"),
    ])
    found = similar_open(tdb, pairs={("flooding", "quan_1"), ("noise", "quan_3")},
                         since=NOW - timedelta(days=14), now=NOW)
    assert [t["_id"] for t in found] == ["reopened", "open", "noise_q3", "progress"]


def test_init_db_replaces_the_band_key_index(db):
    db[TICKETS].create_index([("category", ASCENDING), ("district", ASCENDING),
                              ("dup_keys", ASCENDING)])  # what earlier versions created
    init_db(db)
    names = set(db[TICKETS].index_information())
    assert "category_1_district_1_dup_keys_1" not in names
    assert "category_1_district_1_created_at_1" in names
