"""Keyed blind index of phone numbers: HMAC-SHA256 of the normalised number under a key of
its own (CONTACT_INDEX_KEY). Intake, which holds the contacts, puts the index of a report's
numbers on the report and its events; the tracker stores it on the ticket and finds a
caller's reports by computing the index of the number an operator types. The number itself
stays encrypted in intake; without the key the index cannot be tested against guesses."""

from __future__ import annotations

import hashlib
import hmac

from shared.redact import PHONE_DIGITS, PHONE_SEPARATORS, ascii_digits

INDEX_PATTERN = r"^[0-9a-f]{64}$"


def normalise_phone(value: str) -> str | None:
    """A Vietnamese number in any usual spelling -> +84XXXXXXXXX, or None."""
    # any script's decimal digits count as the same digits, as the masker reads them; digit
    # signs ('²', '⑨') do not, or a number the masker never sees would be accepted
    match = PHONE_DIGITS.match(PHONE_SEPARATORS.sub("", ascii_digits(value or "")))
    return "+84" + match.group(1) if match else None


class BlindIndex:
    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("the contact index key needs at least 16 characters")
        self._key = key.encode("utf-8")

    def phone(self, value: str | None) -> str | None:
        number = normalise_phone(value or "")
        if number is None:
            return None
        return hmac.new(self._key, b"phone:" + number.encode("ascii"),
                        hashlib.sha256).hexdigest()

    def phones(self, *values: str | None) -> list[str]:
        return sorted({i for i in (self.phone(v) for v in values) if i})
