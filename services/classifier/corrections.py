"""Handlers' re-routings, kept as labelled examples for `train --with-corrections`."""

from __future__ import annotations

from pymongo.database import Database

from services.classifier.corpus import Example
from shared.events import TicketCorrectedV1

CORRECTIONS = "classifier_corrections"


def store_correction(*, db: Database, event: TicketCorrectedV1) -> None:
    """Idempotent: the latest correction of a report wins."""
    db[CORRECTIONS].update_one(
        {"_id": event.report_id},
        {"$set": {"text": event.text, "category": event.new_category,
                  "old_category": event.old_category, "district": event.district,
                  "urgent": event.urgent, "corrected_at": event.occurred_at}},
        upsert=True)


def load_corrections(*, db: Database) -> list[Example]:
    return [Example(f"correction-{doc['_id']}", doc["text"], doc["category"],
                    bool(doc.get("urgent")), doc.get("district"), "correction")
            for doc in db[CORRECTIONS].find().sort("_id", 1)]
