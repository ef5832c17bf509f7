"""Key rotation: re-encrypt every stored personal field, and each report's citizen key,
under the newest PII key."""

from __future__ import annotations

from pymongo import UpdateOne
from pymongo.database import Database

from services.intake.store import REPORTS
from shared.crypto import FieldCipher


def rotate_pii(*, db: Database, cipher: FieldCipher, batch: int = 500) -> int:
    changed = 0
    ops: list[UpdateOne] = []
    for doc in db[REPORTS].find({}, {"pii": 1, "citizen_key": 1}):
        rotated = {f"pii.{k}": cipher.rotate(v) for k, v in (doc.get("pii") or {}).items()}
        if doc.get("citizen_key"):
            rotated["citizen_key"] = cipher.rotate(doc["citizen_key"])
        if rotated:
            ops.append(UpdateOne({"_id": doc["_id"]}, {"$set": rotated}))
        if len(ops) >= batch:
            changed += db[REPORTS].bulk_write(ops).modified_count
            ops = []
    if ops:
        changed += db[REPORTS].bulk_write(ops).modified_count
    return changed
