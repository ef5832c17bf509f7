"""MongoDB client helpers. Create clients per process (pymongo is not fork-safe)."""

from __future__ import annotations

from typing import Any

import pymongo
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, PyMongoError

from shared.settings import Settings


def connect(settings: Settings, **overrides: object) -> MongoClient:
    """A client whose every operation ends within `mongo_timeout_ms` (pymongo's timeoutMS)
    and whose writes are acknowledged only once journaled: a 201 survives a store crash."""
    options: dict[str, object] = {
        "w": "majority",
        "journal": True,
        "timeoutMS": settings.mongo_timeout_ms,
        "serverSelectionTimeoutMS": settings.mongo_server_selection_ms,
        "connectTimeoutMS": settings.mongo_server_selection_ms,
        "tz_aware": True,
        "appname": settings.kafka_client_id,
    }
    options.update(overrides)
    return MongoClient(settings.mongo_uri, **options)


def reachable(client: MongoClient, timeout_s: float = 0.8) -> bool:
    """A ping bounded by `timeout_s` whatever the state of the store (paused, partitioned,
    restarting): what readiness probes ask, answered within a second."""
    try:
        with pymongo.timeout(timeout_s):
            client.admin.command("ping")
        return True
    except PyMongoError:
        return False


def database(client: MongoClient, settings: Settings) -> Database:
    return client[settings.mongo_db]


DUPLICATE_KEY = 11000


def insert_unordered(collection: Collection, docs: list[dict[str, Any]]) -> dict[int, dict]:
    """One unordered `insert_many`; the write errors by the index of their document (empty
    when every document went in). A failed command, or a write concern not met (the
    documents may not be durable), raises."""
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if exc.details.get("writeConcernErrors"):
            raise
        return {error["index"]: error for error in exc.details.get("writeErrors", [])}
    return {}


def insert_new(collection: Collection, docs: list[dict[str, Any]]) -> set[int]:
    """Insert what is not there yet: the indexes of the documents whose key was taken (a
    replay, another process first). Any other failure raises."""
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if exc.details.get("writeConcernErrors") or any(
                error.get("code") != DUPLICATE_KEY for error in errors):
            raise
        return {error["index"] for error in errors}
    return set()
