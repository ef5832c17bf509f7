"""The citizen's key: a short secret handed out once, with the tracking code, to whoever
filed the report. Tracking codes are sequential, so anyone can guess one and read its public
status; rating or reopening a report also takes its key.

Eight characters from an alphabet without look-alikes (no 0/O, no 1/I), so an operator can
read it out on the phone: 32^8, about 10^12 keys. Stored encrypted with the PII keys
(rotated with them), never in events or logs.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from shared.crypto import FieldCipher, PiiDecryptionError

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 8


def new_key() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str) -> str:
    """What a citizen types back: any case, spaces and hyphens allowed."""
    return "".join(typed.split()).replace("-", "").upper()


def stored_key(doc: dict[str, Any], cipher: FieldCipher) -> str | None:
    token = doc.get("citizen_key")
    if not token:
        return None  # a report filed before keys existed
    try:
        return cipher.decrypt(token)
    except PiiDecryptionError:
        return None


def matches(doc: dict[str, Any], typed: str | None, cipher: FieldCipher) -> bool:
    if not typed:
        return False
    expected = stored_key(doc, cipher)
    return expected is not None and hmac.compare_digest(expected.encode(),
                                                        normalise(typed).encode())
