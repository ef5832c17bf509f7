"""Which district a report names, in any of the forms residents use; None when none is.

A ward number alone ("phường 7") never makes a district, and a place name used as part of
a ward, company or landmark name ("phường Tân Định", "Điện lực Bình Phú") does not count
when a district is written out elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from services.classifier.text import clean, fold

NUMBERED = {1: "q1", 2: "thu_duc", 3: "q3", 4: "q4", 5: "q5", 6: "q6", 7: "q7", 8: "q8",
            9: "thu_duc", 10: "q10", 11: "q11", 12: "q12"}
NUMBER_WORDS = {"một": 1, "nhất": 1, "hai": 2, "ba": 3, "tư": 4, "bốn": 4, "năm": 5, "sáu": 6,
                "bảy": 7, "tám": 8, "chín": 9, "mười": 10, "mười một": 11, "mười hai": 12}
NAMED = {
    "binh thanh": "binh_thanh", "go vap": "go_vap", "phu nhuan": "phu_nhuan",
    "tan binh": "tan_binh", "tan phu": "tan_phu", "binh tan": "binh_tan",
    "thu duc": "thu_duc", "cu chi": "cu_chi", "hoc mon": "hoc_mon",
    "binh chanh": "binh_chanh", "nha be": "nha_be", "can gio": "can_gio",
}
# Written right before a name, these make it a district ("quận Bình Thạnh", "huyện Củ Chi").
_DISTRICT_WORDS = r"(?:quan|q|huyen|h|thanh pho|tp|thi xa|tx|district)"
# Written right before a name, these make it something else: a ward, a company, a landmark.
_OTHER_WORDS = r"(?:phuong|p|xa|kcn|khu cong nghiep|cong ty|cty|hiep|khu pho|ap)"
# Short forms residents type: after "q."/"quận" ("q.bt", "Q.GV"), or unambiguous alone.
_SHORT_AFTER_Q = {"bt": "binh_thanh", "gv": "go_vap", "pn": "phu_nhuan", "tb": "tan_binh",
                  "tp": "tan_phu", "btan": "binh_tan", "bc": "binh_chanh", "td": "thu_duc"}
_SHORT_RE = re.compile(r"(?<![\w])(?:quan|q)\s*\.?\s*(" + "|".join(_SHORT_AFTER_Q)
                       + r")(?![\w])")
_ALONE_RE = re.compile(r"(?<![\w])(btan|bthanh|bchanh|tđ)(?![\w])")
_ALONE = {"btan": "binh_tan", "bthanh": "binh_thanh", "bchanh": "binh_chanh", "tđ": "thu_duc"}
_NUMBERED_RE = re.compile(r"(?<![\w])(?:quan|q|district)\s*\.?\s*(\d{1,2})(?![\d])")
_WORD_NUMBER_RE = re.compile(r"(?<![\w])quận\s+(" + "|".join(
    sorted(NUMBER_WORDS, key=len, reverse=True)) + r")(?![\w])")
_NAMED_RE = re.compile(r"(?<![\w])(" + "|".join(n.replace(" ", r"\s?") for n in NAMED)
                       + r")(?![\w])")
_NAMED_BY_KEY = {name.replace(" ", ""): code for name, code in NAMED.items()}
# How the names are spelled with diacritics: "cư chị" folds to "cu chi" but is not Củ Chi.
_MARKED = {"bình thạnh", "gò vấp", "phú nhuận", "tân bình", "tân phú", "bình tân", "thủ đức",
           "củ chi", "hóc môn", "bình chánh", "nhà bè", "cần giờ"}
# "tp" is left out: "ở tp HCM", "Ở TP mình" mean the city (thành phố), not Tân Phú.
_SHORT_IN = re.compile(r"(?:(?<![\w])(?:o|ở)\s+(bt|gv|pn|tb)(?![\w])|^\W*(bt|gv|pn|tb)"
                       r"(?=\s*,?\s*(?:p\s*\.?\s*\d|phuong|phường)))")
_STRONG_BEFORE = re.compile(_DISTRICT_WORDS + r"\s*\.?\s*$")
_OTHER_BEFORE = re.compile(r"(?<![\w])" + _OTHER_WORDS + r"\s*\.?\s*$")
_COMPOUNDS = re.compile(r"(?<![\w])(?:tan phu trung|hiep binh chanh|binh thanh tay)(?![\w])")


@dataclass(frozen=True)
class Mention:
    code: str
    position: int
    strong: bool


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    folded = fold(char)
    return folded[0] if len(folded) >= 1 else " "


def fold_aligned(text: str) -> str:
    """`fold`, one character for one, so positions in both strings match."""
    return "".join(_fold_char(c) for c in text)


def mentions(text: str) -> list[Mention]:
    lowered = clean(text)
    folded = fold_aligned(lowered)
    found: list[Mention] = []
    for match in _NUMBERED_RE.finditer(folded):
        number = int(match.group(1))
        if number in NUMBERED:
            found.append(Mention(NUMBERED[number], match.start(), True))
    for match in _SHORT_RE.finditer(folded):
        found.append(Mention(_SHORT_AFTER_Q[match.group(1)], match.start(), True))
    for match in _SHORT_IN.finditer(lowered):
        short = match.group(1) or match.group(2)
        found.append(Mention(_SHORT_AFTER_Q[short], match.start(), False))
    # "tđ" needs its đ; the other short forms are read without diacritics ("BTân" -> btan)
    half_folded = "".join("đ" if a == "đ" else b for a, b in zip(lowered, folded, strict=True))
    for match in _ALONE_RE.finditer(half_folded):
        found.append(Mention(_ALONE[match.group(1)], match.start(), False))
    for match in _WORD_NUMBER_RE.finditer(lowered):
        found.append(Mention(NUMBERED[NUMBER_WORDS[match.group(1)]], match.start(), True))
    masked = _COMPOUNDS.sub(lambda m: "#" * len(m.group(0)), folded)
    for match in _NAMED_RE.finditer(masked):
        before = masked[max(0, match.start() - 24): match.start()]
        if _OTHER_BEFORE.search(before):
            continue
        spelled = lowered[match.start():match.end()]
        if spelled != fold(spelled) and spelled not in _MARKED:
            continue
        found.append(Mention(_NAMED_BY_KEY[match.group(1).replace(" ", "")], match.start(),
                             bool(_STRONG_BEFORE.search(before))))
    return sorted(found, key=lambda m: m.position)


def extract_district(text: str) -> str | None:
    found = mentions(text)
    if not found:
        return None
    strong = [m for m in found if m.strong]
    return (strong or found)[0].code
