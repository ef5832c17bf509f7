"""What a citizen receives, rendered from the interface catalogue in the report's language.

Pure: a message is built from the notification row, the report's tracking code and key, and
the links. Email carries the full text; SMS and Zalo a short one (SMS without diacritics, so
that it fits one or two 160-character segments)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from shared.web.i18n import LANGUAGES, department_label, translate

KINDS: tuple[str, ...] = ("received", "assigned", "waiting_citizen", "resolved", "reopened")
# the ticket states that produce a message (the report's arrival is seq 0, "received")
STATE_KINDS: dict[str, str] = {"assigned": "assigned", "waiting_citizen": "waiting_citizen",
                               "resolved": "resolved", "reopened": "reopened"}


@dataclass(frozen=True)
class Links:
    track: str
    unsubscribe: str
    answer: str = ""  # opens the answer form without typing the key


@dataclass(frozen=True)
class Message:
    kind: str
    lang: str
    subject: str
    text: str  # the email body
    short: str  # SMS / Zalo text
    params: dict[str, str]  # what a provider's registered template is filled with


def render(*, kind: str, lang: str, code: str, links: Links, key: str | None = None,
           department: str | None = None, note: str | None = None) -> Message:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    lang = lang if lang in LANGUAGES else "vi"
    link = links.answer if kind == "waiting_citizen" and links.answer else links.track
    params = {"code": code, "link": link, "secret": key or "",
              "department": department_label(department, lang) or translate(
                  "notify.department_unknown", lang),
              "note": note or translate("notify.no_note", lang),
              "unsubscribe": links.unsubscribe}
    body = translate(f"notify.body.{kind}", lang, **params)
    footer = translate("notify.footer", lang, **params)
    return Message(kind=kind, lang=lang,
                   subject=translate(f"notify.subject.{kind}", lang, **params),
                   text=f"{body}\n\n-- \n{footer}\n",
                   short=without_diacritics(translate(f"notify.sms.{kind}", lang, **params)),
                   params={k: v for k, v in params.items() if k != "note" or note})


def without_diacritics(text: str) -> str:
    """SMS in plain letters: one GSM-7 segment holds 160 of them, 70 with diacritics."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))
