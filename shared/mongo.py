"""MongoDB client helpers. Create clients per process (pymongo is not fork-safe)."""

from __future__ import annotations

from pymongo import MongoClient
from pymongo.database import Database

from shared.settings import Settings


def connect(settings: Settings, **overrides: object) -> MongoClient:
    options: dict[str, object] = {
        "w": "majority",
        "serverSelectionTimeoutMS": 5000,
        "connectTimeoutMS": 5000,
        "tz_aware": True,
        "appname": settings.kafka_client_id,
    }
    options.update(overrides)
    return MongoClient(settings.mongo_uri, **options)


def database(client: MongoClient, settings: Settings) -> Database:
    return client[settings.mongo_db]
