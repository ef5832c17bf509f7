"""Unordered inserts on the real store: every document that can go in does, and the caller
learns which ones were already there."""

from __future__ import annotations

from shared.mongo import DUPLICATE_KEY, insert_new, insert_unordered


def test_insert_new_reports_the_taken_keys_and_inserts_the_rest(db):
    db.items.insert_one({"_id": 2})
    assert insert_new(db.items, [{"_id": 1}, {"_id": 2}, {"_id": 3}, {"_id": 1}]) == {1, 3}
    assert sorted(d["_id"] for d in db.items.find()) == [1, 2, 3]
    assert insert_new(db.items, [{"_id": 4}]) == set()


def test_insert_unordered_gives_each_failure_by_position(db):
    db.items.create_index("key", unique=True)
    errors = insert_unordered(db.items, [{"key": "a"}, {"key": "a"}, {"key": "b"}])
    assert list(errors) == [1] and errors[1]["code"] == DUPLICATE_KEY
    assert db.items.count_documents({}) == 2
