"""Masking personal data that citizens type into free text (phone numbers, emails)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Vietnamese mobile and landline numbers, with the separators people type.
_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")


def redact_contacts(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[số điện thoại]", text)


def mask_phone(phone: str) -> str:
    """'+84901234567' -> '+849******67': enough for a handler to recognise, not to dial."""
    if len(phone) <= 5:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 6) + phone[-2:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


def mask_name(name: str) -> str:
    return " ".join(part[:1] + "." for part in name.split() if part)
