"""What the tracker's views need, built once per worker by the application factory."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from pymongo import MongoClient
from pymongo.database import Database

from services.tracker.config import TrackerConfig
from shared.clock import Clock
from shared.settings import Settings


@dataclass(frozen=True)
class TrackerDeps:
    settings: Settings
    client: MongoClient
    db: Database
    config: TrackerConfig
    clock: Clock


def deps() -> TrackerDeps:
    return current_app.extensions["tracker"]
