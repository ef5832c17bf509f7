"""Danger cues: does a report describe immediate danger to life, and whom should the resident
call now? A rule layer read on the accent-folded text, beside the classifier's model.

It lives in shared/ so intake can decide at submit time, in microseconds and without the
classifier being up, whether the resident must be told to call 114 / 115 / 113; the
classifier uses the same detector so both agree.

A cue counts unless its clause says the danger is over or never happened ("đám cháy đã được
dập tắt hôm qua", "không có ai bị thương"), or only feared ("sợ cháy", "nguy cơ sập").
Words whose folded form is ambiguous ("chay" is cháy, chạy, chảy, chay) count only when typed
without diacritics or with the dangerous spelling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Invisible characters people paste or that keyboards insert: they split words in two.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"), None)

FIRE, AMBULANCE, POLICE = "114", "115", "113"
NUMBERS = {FIRE: ("cứu hỏa, cứu nạn", "fire and rescue"),
           AMBULANCE: ("cấp cứu", "ambulance"),
           POLICE: ("công an", "police")}


def fold(text: str) -> str:
    """Remove diacritics: 'Đường ngập' -> 'Duong ngap'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed
                                                if unicodedata.category(c) != "Mn"))


def strip_invisible(text: str) -> str:
    return text.translate(ZERO_WIDTH)


# Folded word -> the diacritic spellings that carry the dangerous meaning. A token typed with
# another spelling ("chạy", "nước chảy", "sắp", "khỏi") is masked before the cues are read.
AMBIGUOUS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "chay": "cháy", "no": "nổ", "giat": "giật", "chet": "chết", "sap": "sập", "ngat": "ngạt ngất",
    "khoi": "khói", "dam": "đâm đám", "chem": "chém", "cuop": "cướp", "ket": "kẹt",
    "chim": "chìm", "duoi": "đuối", "lua": "lửa", "ga": "ga gas", "dut": "đứt",
    "cuu": "cứu", "mau": "máu", "ngo": "ngộ", "doc": "độc", "tu": "tử", "than": "thần",
    "lu": "lũ", "lo": "lở", "do": "đổ", "thuong": "thương", "sung": "súng", "dao": "dao",
    "tinh": "tỉnh", "bat": "bất", "xiu": "xỉu", "nga": "ngã", "cap": "cấp",
    "ro": "rò rỉ", "roi": "rơi rồi", "ri": "rỉ", "xi": "xì", "tho": "thở", "nuoc": "nước",
    "nan": "nạn",
    "tai": "tai", "nhau": "nhau", "danh": "đánh", "bong": "bỏng", "sut": "sụt", "ho": "hố",
    "dien": "điện", "den": "đèn đen", "mac": "mắc", "nguoi": "người", "dang": "đang", "bi": "bị",
}.items()}

_P = r"(?<![a-z0-9])"  # word start on folded text
_S = r"(?![a-z0-9])"


def _cues(*patterns: str) -> re.Pattern[str]:
    return re.compile(_P + "(?:" + "|".join(patterns) + ")" + _S)


# (kind, numbers to call, pattern on the folded, masked text)
CUES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("fire", (FIRE,), _cues(
        r"(?:dam|vu|boc|phat) chay", r"chay (?:nha|lon|du doi|to|kho|chung cu|can ho|bung|"
        r"ngun ngut|tiem|quan|phong tro|xuong)", r"lua (?:boc|chay|lan|bung|do|lon|ngun)",
        r"on fire", r"(?:big|huge) fire", r"a fire (?:in|at|on|broke)",
        r"fire (?:spreading|in the)",
        r"flames?", r"burning down", r"cuu (?:voi|toi|chung toi|nguoi|nhanh|vs|em voi)",
        r"help (?:me|us)",
        r"(?:dang|bi) chay", r"chay (?:roi|ri|that|lan)")),
    ("smoke", (FIRE,), _cues(
        r"khoi (?:den|day|mu mit|cuon|boc|nghi ngut|bay ra|tu|trong|ra|nhieu)",
        r"boc khoi", r"nghi ngut", r"ngun ngut", r"smoke", r"burning")),
    ("explosion", (FIRE, AMBULANCE), _cues(
        r"(?:vu|tieng|bi|phat|gay) no", r"no (?:tung|lon|binh|ga|tram|may bien|ong|bom|"
        r"min|nha)", r"phat no", r"explosion", r"exploded?", r"blast")),
    ("gas", (FIRE,), _cues(
        r"(?:xi|ro|ro ri|ri|thoat|mui|hoi|nong nac) gas?", r"gas? (?:bi )?(?:xi|ro|ri|nong nac)",
        r"gas (?:leak|leaking|smell)", r"smell(?:s|ing)? (?:of )?gas", r"leaking gas",
        r"ro ri khi", r"khi doc")),
    ("trapped", (FIRE,), _cues(
        r"mac ket", r"ket (?:trong|ben trong|duoi) (?:thang may|nha|phong|can ho|xe|dong|tang|"
        r"do nat|dong do)", r"(?:nguoi|em be|chau|be) (?:bi |dang )?ket",
        r"(?:con|bi|dang) ket (?:ben |lai ben )?trong", r"thang may (?:bi )?ket",
        r"trapped", r"stuck (?:in|inside) (?:the )?(?:lift|elevator|building|house|car)",
        r"khong (?:the )?thoat ra (?:duoc|ngoai)")),
    ("drowning", (FIRE, AMBULANCE), _cues(
        r"duoi nuoc", r"chet duoi", r"(?:bi )?nuoc cuon", r"cuon troi", r"(?:bi )?chim xuong",
        r"drown(?:ing|ed)?", r"swept away", r"rot xuong (?:song|kenh|rach|ho|cong)",
        r"te xuong (?:song|kenh|rach|ho|cong)")),
    ("collapse", (FIRE, AMBULANCE), _cues(
        r"(?:bi |da )?sap (?:nha|tuong|tran|cau|gian|mai|ban cong|xuong|do)",
        r"(?:nha|tuong|tran|cau|gian giao|mai|ban cong|cong trinh) (?:bi )?(?:sap|do sap)",
        r"do sap", r"sup do", r"sap roi", r"collapsed?", r"collapsing",
        r"ho tu than", r"sinkhole", r"(?:sut|lun) (?:ho|sau) ", r"nuot (?:chung )?(?:xe|nguoi)",
        r"sat lo")),
    ("live_wire", (FIRE, AMBULANCE), _cues(
        r"dien giat", r"giat dien", r"bi giat", r"day dien (?:dut|roi|chay|toe|no|chap)",
        r"dut day dien", r"chap dien", r"ro dien", r"(?:toe|phat) (?:tia )?lua",
        r"live wire", r"electrocut\w*", r"power line (?:down|fell|on the)",
        r"sparking", r"sparks")),
    ("injury", (AMBULANCE,), _cues(
        r"(?:bi|nhieu nguoi|co nguoi|nguoi) (?:bi )?thuong", r"thuong (?:nang|vong)",
        r"bat tinh", r"ngat xiu", r"bat dong", r"nam im", r"dau nguc",
        r"kho tho", r"(?:khong|ko|k) tho (?:duoc|dc|noi)", r"(?:chay|~) (?:nhieu )?mau",
        r"de (?:len )?(?:\S+ )?nguoi", r"xiu (?:roi|xuong|nga)", r"bi xiu", r"can cap cuu",
        r"goi cap cuu", r"chay (?:nhieu )?mau", r"mau (?:me|chay|ra)", r"ngo doc tap the",
        r"nhieu nguoi (?:bi )?ngo doc", r"khong tho (?:duoc|noi)", r"tu vong",
        r"chet (?:nguoi|roi)",
        r"nguoi chet", r"nguoi bi (?:xe )?tong", r"bi xe tong (?:nga|nam|bat)",
        r"tai nan (?:lien hoan|nghiem trong|giao thong|xe)", r"nga (?:xuong|gay)",
        r"bong nang", r"injured", r"injuries", r"unconscious", r"bleeding",
        r"not breathing", r"poison(?:ed|ing)", r"hurt", r"dying", r"ambulance",
        r"vua (?:xay ra |bi )?tai nan", r"tai nan (?:lien hoan|nghiem trong)",
        r"(?:car|bus|truck|motorbike) (?:crash|hit)")),
    ("violence", (POLICE,), _cues(
        r"(?:dang |bi )?danh nhau", r"danh (?:nguoi|dap|hoi dong)", r"dam (?:nguoi|chem)",
        r"bi dam", r"chem (?:nhau|nguoi)", r"bi chem",
        r"(?:cam|co|mang|rut) (?:dao|sung|ma tau|hung khi)",
        r"knife", r"cuop", r"danh (?:vo|con|chong|me|cha)",
        r"(?:an|dang) cuop", r"cuop (?:giat|tai san|tiem)", r"bat coc", r"no sung",
        r"ban (?:sung|nhau)", r"hon chien", r"dao kiem", r"ma tau", r"hung khi",
        r"stabb\w*", r"fight(?:ing)?", r"robbery", r"gun", r"shooting", r"attack(?:ed|ing)?",
        r"kidnap\w*", r"hanh hung", r"hanh ha")),
)

# Said before a cue in its clause, these mean it did not happen or is only feared.
_BEFORE = re.compile(
    _P + r"(?:(?:khong|ko|k|kg|chua|chang|no|not|never|without)(?: \S+){0,2}|"
    r"(?:phong|chong|chua chay|phong chay|nguy co|de gay|de bi|co the|so|lo|lo ngai|suyt|neu|"
    r"tranh|canh bao|risk|could|might|fear|afraid|worried|thiet bi|binh chua chay|"
    r"binh cuu hoa|hoc|tap huan|dien tap|drill|mo phong|xuyen|hay|bong den|den duong|cau chi|"
    r"prevent|in case|gay)(?: \S+){0,5}) $")
# Anywhere in the clause, these mean the danger is over.
_OVER = re.compile(
    _P + r"(?:da (?:duoc )?(?:dap tat|khong che|dap|xu ly xong|khac phuc|giai quyet|on dinh|"
    r"cuu ra|dua ra|ra vien|binh phuc)|dap tat|da tat|hom qua|hom truoc|tuan truoc|"
    r"thang truoc|nam ngoai|nam truoc|dot truoc|lan truoc|truoc day|hoi truoc|ngay truoc|"
    r"toi qua|dem qua|sang qua|last (?:week|month|year|night)|yesterday|was put out|"
    r"put out|extinguished|under control|is over|already fixed|in the past|"
    r"(?:nam|2|3|vai|may) nam truoc|tu lau|thuong xuyen|~ xuyen|moi (?:toi|dem|ngay|tuan)|"
    r"(?:toi|dem|ngay|tuan|sang|chieu) nao (?:\S+ ){0,4}cung|often|every (?:night|day|week)|"
    r"usually|ngay \d{1,2} \d{1,2}|(?:on|since) \d{1,2} \d{1,2})" + _S)
# ... unless the clause also says it is still going on.
_STILL = re.compile(_P + r"(?:van con|van dang|van chua|dang|hien dang|bay gio|ngay bay gio|"
                    r"luc nay|right now|still|now|again|lai tiep|tiep tuc|con dang)" + _S)
# Smoke from burning rubbish or cooking is an environment complaint, not a fire.
_BURNING = re.compile(_P + r"(?:dot|lo dot|nuong|"
                      r"hut thuoc|bui|rac thai|burning (?:rubbish|trash|garbage)|"
                      r"(?:rubbish|trash|garbage) (?:burning|fire))" + _S)
_SHORT_FIRE = re.compile(_P + r"(?:chay|fire)" + _S)
_NOT_FIRE = re.compile(_P + r"(?:nuoc|xe|duong|ong|chay bo|an chay|fire exit|fire door)" + _S)
_CLAUSE = re.compile(r"[.!?;\n]+|\bnhung\b|\bbut\b")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Danger:
    urgent: bool
    kinds: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    def guidance(self) -> dict[str, object] | None:
        return guidance(self.numbers) if self.urgent else None


@lru_cache(maxsize=8192)
def _mask(token: str) -> str:
    """The token folded; '~' when its spelling with diacritics is not the dangerous one."""
    folded = fold(token)
    allowed = AMBIGUOUS.get(folded)
    if allowed is None or folded == token or token in allowed:
        return folded
    return "~"


def masked_folded(text: str) -> str:
    """Lower-case, folded text with sentence breaks kept and ambiguous words masked."""
    lowered = strip_invisible(unicodedata.normalize("NFC", text)).lower()
    out: list[str] = []
    last = 0
    for match in _TOKEN.finditer(lowered):
        gap = lowered[last:match.start()]
        out.append(" " + "".join(c for c in gap if c in ".!?;\n") + " " if gap else " ")
        out.append(_mask(match.group(0)))
        last = match.end()
    return re.sub(r" +", " ", "".join(out)).strip()


def _clause_danger(clause: str) -> list[tuple[str, tuple[str, ...]]]:
    found = []
    over = _OVER.search(clause) is not None and _STILL.search(clause) is None
    if over:
        return found
    burning = _BURNING.search(clause) is not None
    tokens = clause.split()
    short = _SHORT_FIRE.search(clause) if len(tokens) <= 4 else None
    if short and not _BEFORE.search(" " + clause[:short.start()]) and not _NOT_FIRE.search(
            clause):
        found.append(("fire", (FIRE,)))
    for kind, numbers, pattern in CUES:
        if burning and kind in ("smoke", "fire"):
            continue
        for match in pattern.finditer(clause):
            before = clause[max(0, match.start() - 40): match.start()]
            if _BEFORE.search(" " + before):
                continue
            found.append((kind, numbers))
            break
    return found


def detect(text: str, *, max_chars: int = 20_000) -> Danger:
    clauses = _CLAUSE.split(masked_folded(text[:max_chars]))
    kinds: list[str] = []
    numbers: list[str] = []
    for clause in clauses:
        for kind, nums in _clause_danger(" " + clause.strip() + " "):
            if kind not in kinds:
                kinds.append(kind)
            numbers.extend(n for n in nums if n not in numbers)
    return Danger(bool(kinds), tuple(kinds), tuple(sorted(numbers)))


def guidance(numbers: tuple[str, ...] | list[str]) -> dict[str, object]:
    """What the resident is told when a report reads as danger to life, in both languages."""
    chosen = [n for n in (FIRE, AMBULANCE, POLICE) if n in numbers] or [FIRE, AMBULANCE, POLICE]
    all_vi = ", ".join(f"{n} ({NUMBERS[n][0]})" for n in (FIRE, AMBULANCE, POLICE))
    all_en = ", ".join(f"{n} ({NUMBERS[n][1]})" for n in (FIRE, AMBULANCE, POLICE))
    first = ", ".join(chosen)
    return {
        "call_now": chosen,
        "numbers": {n: {"vi": NUMBERS[n][0], "en": NUMBERS[n][1]}
                    for n in (FIRE, AMBULANCE, POLICE)},
        "vi": (f"Nếu có nguy hiểm đến tính mạng, hãy gọi ngay {first}. Đường dây 1022 không "
               f"thay thế cấp cứu. Số khẩn cấp: {all_vi}."),
        "en": (f"If lives are in danger, call {first} now. The 1022 hotline is not an "
               f"emergency service. Emergency numbers: {all_en}."),
    }
