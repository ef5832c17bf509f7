"""Key rotation: re-encrypt every stored personal field under the newest PII key."""

from __future__ import annotations

from pymongo import UpdateOne
from pymongo.database import Database

from services.intake.store import REPORTS
from shared.crypto import FieldCipher


def rotate_pii(*, db: Database, cipher: FieldCipher, batch: int = 500) -> int:
    changed = 0
    ops: list[UpdateOne] = []
    for doc in db[REPORTS].find({"pii": {"$ne": {}}}, {"pii": 1}):
        rotated = {f"pii.{k}": cipher.rotate(v) for k, v in (doc.get("pii") or {}).items()}
        if rotated:
            ops.append(UpdateOne({"_id": doc["_id"]}, {"$set": rotated}))
        if len(ops) >= batch:
            changed += db[REPORTS].bulk_write(ops).modified_count
            ops = []
    if ops:
        changed += db[REPORTS].bulk_write(ops).modified_count
    return changed
