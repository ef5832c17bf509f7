"""What the tracker's views need, built once per worker by the application factory."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from pymongo import MongoClient
from pymongo.database import Database

from services.tracker.config import ConfigSource, TrackerConfig
from shared.clock import Clock
from shared.settings import Settings


@dataclass(frozen=True)
class TrackerDeps:
    settings: Settings
    client: MongoClient
    db: Database
    source: ConfigSource
    clock: Clock

    @property
    def config(self) -> TrackerConfig:
        """Read again from the files every 30 s: an edited calendar applies without restart."""
        return self.source.current()


def deps() -> TrackerDeps:
    return current_app.extensions["tracker"]
