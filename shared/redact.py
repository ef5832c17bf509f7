"""Masking personal data that citizens type into free text (phones, emails, identity card numbers).

One detector: the text is cut into tokens (emails, digit runs, '+', runs of the separators people
type inside phone numbers, everything else), then every digit run is tried as the start of a phone
number, joining the following digit runs across separators exactly as the phone validator does.
Every span that the validator would accept is masked, so no spelling it accepts survives.
"""

from __future__ import annotations

import re
import unicodedata

# The phone validator (blind_index.normalise_phone) uses these two, so they cannot drift apart.
PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
PHONE_DIGITS = re.compile(r"^(?:\+84|84|0)(\d{9,10})$")

PHONE_MASK = "[số điện thoại]"
EMAIL_MASK = "[email]"
ID_MASK = "[số giấy tờ]"


def ascii_digits(text: str) -> str:
    """Decimal digits of any script as ASCII ('０９' or '٠٩' -> '09'); the rest as it is."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


_EMAIL = re.compile(r"[^\s@]+@[\w-]+(?:\.[\w-]+)+")
_TOKENS = re.compile(
    r"(?P<digits>\d+)"
    r"|(?P<plus>\+)"
    r"|(?P<sep>[\s.\-()]+)"
    r"|(?P<other>[^\d+\s.\-()]+)"
)
_LONGEST_PHONE = 12  # '84' or '+84' followed by ten digits
_ID_LENGTHS = (9, 12)  # CMND, CCCD
_ID_GROUPED = re.compile(r"^\d{3}(?: \d{3}){2,3}$")
# the number of a tracking code (HCM-2026-000123) is not an ID card number, however long
_TRACKING_PREFIX = re.compile(r"[A-Za-z]{2,10}-\d{4}-$")
_MONEY_AFTER = re.compile(
    r"\s*(?:đ|₫|vnd|vnđ|đồng|dong|k|nghìn|ngàn|triệu|tỷ)(?!\w)", re.IGNORECASE
)


def _tokens(text: str) -> list[tuple[str, int, int]]:
    # emails first, over the whole text: a separator token would otherwise swallow a local part
    # that starts with '-', '.' or '(' and leave the rest unrecognised
    tokens: list[tuple[str, int, int]] = []
    position = 0
    for email in [*_EMAIL.finditer(text), None]:
        end = email.start() if email else len(text)
        tokens += [(m.lastgroup or "other", position + m.start(), position + m.end())
                   for m in _TOKENS.finditer(text[position:end])]
        if email:
            tokens.append(("email", email.start(), email.end()))
            position = email.end()
    return tokens


def _phone_end(text: str, tokens: list[tuple[str, int, int]], first: int) -> int | None:
    """End of the longest phone number starting at token `first`, or None."""
    digits, end = "", None
    for kind, start, stop in tokens[first:]:
        if kind == "plus" and not digits and start == tokens[first][1]:
            digits = "+"
        elif kind == "digits":  # '\d' is any script's digits: read as the validator reads them
            digits += ascii_digits(text[start:stop])
            if len(digits.lstrip("+")) > _LONGEST_PHONE:
                break
            if PHONE_DIGITS.match(digits):
                end = stop
        elif kind != "sep":
            break
    return end


def _spans(text: str) -> list[tuple[int, int, str]]:
    tokens = _tokens(text)
    spans: list[tuple[int, int, str]] = []
    for index, (kind, start, stop) in enumerate(tokens):
        if kind == "email":
            spans.append((start, stop, EMAIL_MASK))
        elif kind in ("digits", "plus"):
            end = _phone_end(text, tokens, index)
            if end is not None:
                spans.append((start, end, PHONE_MASK))
    for index, (kind, start, _stop) in enumerate(tokens):
        if kind != "digits" or any(s <= start < e for s, e, _ in spans):
            continue
        if _TRACKING_PREFIX.search(text, max(0, start - 16), start):
            continue
        # an identity card number: 9 or 12 digits, one run or in groups of three (the longest)
        found = None
        for last in range(index, min(index + 7, len(tokens))):
            end = tokens[last][2]
            if _is_identity_number(text, text[start:end], end):
                found = end
        if found is not None:
            spans.append((start, found, ID_MASK))
    return _widen_to_brackets(text, spans)


def _is_identity_number(text: str, candidate: str, end: int) -> bool:
    if end < len(text) and text[end].isdecimal():  # a digit as \d reads it, not a footnote mark
        return False
    if _MONEY_AFTER.match(text, end):
        return False
    plain = candidate.isdigit() and len(candidate) in _ID_LENGTHS
    grouped = bool(_ID_GROUPED.match(candidate))
    return plain or (grouped and len(candidate.replace(" ", "")) in _ID_LENGTHS)


def _widen_to_brackets(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """'(090) 123 4567' -> the whole number with its brackets, so no stray bracket is left."""
    widened = []
    for start, end, mask in spans:
        inside = text[start:end]
        if inside.count(")") > inside.count("(") and start > 0 and text[start - 1] == "(":
            start -= 1
        if inside.count("(") > inside.count(")") and end < len(text) and text[end] == ")":
            end += 1
        widened.append((start, end, mask))
    return widened


def redact_contacts(text: str) -> str:
    """Every phone number, email and identity card number in `text` replaced by a placeholder."""
    spans = sorted(_spans(text))
    out, cursor = [], 0
    for start, end, mask in spans:
        if end <= cursor:
            continue
        if start < cursor:  # overlaps the previous mask: the mask covers both
            cursor = end
            continue
        out.append(text[cursor:start])
        out.append(mask)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


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


# --- location: what the public may see of where a report is ---------------------------------

PUBLIC_COORDINATE_DECIMALS = 3  # 0.001° is 111 m of latitude, 109 m of longitude at 10.8° N
_LEADING_HOUSE_NUMBER = re.compile(
    r"^\s*(?:số nhà|so nha|số|so|sn|nhà|nha)?\s*\d+[a-zA-Z]?(?:[/\-]\d+[a-zA-Z]?)*\s*(?=\w)",
    re.IGNORECASE)
_ALLEY_NUMBER = re.compile(
    r"\b(hẻm|hem|ngõ|ngo|ngách|ngach|kiệt|kiet)\s+\d+[a-zA-Z]?(?:[/\-]\d+[a-zA-Z]?)*",
    re.IGNORECASE)


def round_coordinate(value: float | None) -> float | None:
    """A coordinate rounded to about 100 m for anyone outside the city's staff."""
    return None if value is None else round(value, PUBLIC_COORDINATE_DECIMALS)


def public_address(address: str | None) -> str | None:
    """The street, ward and district of an address without the house or alley number:
    '12/3 Lê Lợi, Phường Bến Nghé, Quận 1' -> 'Lê Lợi, Phường Bến Nghé, Quận 1'."""
    if not address:
        return address
    parts = []
    for part in address.split(","):
        part = _ALLEY_NUMBER.sub(r"\1", _LEADING_HOUSE_NUMBER.sub("", part)).strip()
        if part:
            parts.append(part)
    return redact_contacts(", ".join(parts)) or None
