"""Vietnamese text as the classifier sees it: NFC, case-folded, chat words expanded, and an
accent-folded view so text typed without diacritics looks like text typed with them."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.danger import fold as _fold
from shared.danger import strip_invisible

ABBREVIATIONS_PATH = Path(__file__).parent / "config" / "abbreviations.json"
MAX_CHARS = 50_000  # the whole report is read (the API accepts up to 50,000 characters)

_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"https?://\S+|www\.\S+")
_TOKEN = re.compile(r"[^\W_]+(?:[./][0-9]+)*", re.UNICODE)
_REPEAT = re.compile(r"(.)\1{2,}")


def fold(text: str) -> str:
    """Remove diacritics: 'Đường ngập' -> 'duong ngap'."""
    return _fold(text)


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    return json.loads(ABBREVIATIONS_PATH.read_text(encoding="utf-8"))


def abbreviations() -> dict[str, str]:
    return _table()["words"]


def marked_abbreviations() -> dict[str, str]:
    """Chat words typed with a diacritic that is part of the habit ("kô", "hông")."""
    return _table().get("marked", {})


# "cs" is công an only beside police words; otherwise cơ sở (a business) or left alone.
_POLICE_AROUND = frozenset("phuong khu vuc gt giao thong toi den dau oi xa quan 113 bat "
                           "goi bao nho tuan tra hinh su co dong".split())
_PREMISES_AFTER = frozenset("kinh doanh san xuat y te ha tang vat chat karaoke may "
                            "che bien in giet mo".split())


def _expand_cs(previous: str | None, following: str | None) -> str:
    if following in _PREMISES_AFTER:
        return "co so"
    if following in _POLICE_AROUND or previous in _POLICE_AROUND:
        return "cong an"
    return "cs"


@dataclass(frozen=True)
class Views:
    marked: str  # NFC, lower case, with diacritics, chat words expanded where unambiguous
    folded: str  # the same without diacritics


def clean(text: str) -> str:
    text = unicodedata.normalize("NFC", strip_invisible(html.unescape(text[: MAX_CHARS * 2])))
    text = _URL.sub(" ", _TAG.sub(" ", text))
    return _REPEAT.sub(r"\1\1", text.lower())[:MAX_CHARS]


def views(text: str) -> Views:
    cleaned = clean(text)
    table = abbreviations()
    marked_table = marked_abbreviations()
    marked_tokens: list[str] = []
    folded_tokens: list[str] = []
    tokens = _TOKEN.findall(cleaned)
    for i, token in enumerate(tokens):
        folded = fold(token)
        expansion = marked_table.get(token)
        if expansion is None and folded == token.replace("đ", "d"):
            # chat words are typed without tone marks ("ko", "đc", "sđt"; not "kỏ")
            expansion = table.get(folded)
        if folded == "cs" and expansion is not None:
            expansion = _expand_cs(fold(tokens[i - 1]) if i else None,
                                   fold(tokens[i + 1]) if i + 1 < len(tokens) else None)
        if expansion is not None:
            marked_tokens.append(expansion)
            folded_tokens.append(expansion)
        else:
            marked_tokens.append(token)
            folded_tokens.append(folded)
    return Views(" ".join(marked_tokens), " ".join(folded_tokens))


def has_diacritics(text: str) -> bool:
    return fold(text) != text
