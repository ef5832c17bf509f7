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

ABBREVIATIONS_PATH = Path(__file__).parent / "config" / "abbreviations.json"
MAX_CHARS = 4000  # longer texts are cut: the first 4,000 characters decide

_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"https?://\S+|www\.\S+")
_TOKEN = re.compile(r"[^\W_]+(?:[./][0-9]+)*", re.UNICODE)
_REPEAT = re.compile(r"(.)\1{2,}")


def fold(text: str) -> str:
    """Remove diacritics: 'Đường ngập' -> 'duong ngap'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed
                                                if unicodedata.category(c) != "Mn"))


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, str]:
    return json.loads(ABBREVIATIONS_PATH.read_text(encoding="utf-8"))["words"]


@dataclass(frozen=True)
class Views:
    marked: str  # NFC, lower case, with diacritics, chat words expanded where unambiguous
    folded: str  # the same without diacritics


def clean(text: str) -> str:
    text = unicodedata.normalize("NFC", html.unescape(text[: MAX_CHARS * 2]))
    text = _URL.sub(" ", _TAG.sub(" ", text))
    return _REPEAT.sub(r"\1\1", text.lower())[:MAX_CHARS]


def views(text: str) -> Views:
    cleaned = clean(text)
    table = abbreviations()
    marked_tokens: list[str] = []
    folded_tokens: list[str] = []
    for token in _TOKEN.findall(cleaned):
        folded = fold(token)
        expansion = table.get(folded)
        if expansion is not None and folded == token:
            # only tokens typed without diacritics are chat words ("ko", not "kỏ")
            marked_tokens.append(expansion)
            folded_tokens.append(expansion)
        else:
            marked_tokens.append(token)
            folded_tokens.append(folded)
    return Views(" ".join(marked_tokens), " ".join(folded_tokens))


def has_diacritics(text: str) -> bool:
    return fold(text) != text
