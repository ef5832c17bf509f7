"""Key rotation: re-encrypt every stored personal field, each report's citizen key and every
photo under the newest PII key."""

from __future__ import annotations

from pymongo import UpdateOne
from pymongo.database import Database

from services.intake.store import PHOTOS, REPORTS
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
    return changed + _rotate_photos(db=db, cipher=cipher)


def _rotate_photos(*, db: Database, cipher: FieldCipher) -> int:
    """One photo at a time (each up to 5 MB): re-encrypted, or encrypted if stored before
    photos were."""
    changed = 0
    for doc in db[PHOTOS].find({}, {"_id": 1, "encrypted": 1}):
        data = db[PHOTOS].find_one({"_id": doc["_id"]}, {"data": 1})["data"]
        token = cipher.rotate_bytes(data) if doc.get("encrypted") else cipher.encrypt_bytes(data)
        changed += db[PHOTOS].update_one({"_id": doc["_id"]},
                                         {"$set": {"data": token, "encrypted": True}}
                                         ).modified_count
    return changed
