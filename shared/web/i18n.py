"""Interface text for the web pages: Vietnamese first, English second.

A small catalogue of our own (one JSON file per language under `translations/`, flat keys),
rather than gettext: the pages have a few hundred short strings, and a test checks that both
files carry the same keys and the same `{placeholders}`. The language comes from `?lang=`
(remembered in the session), then the session, then Accept-Language, then Vietnamese.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, g, has_request_context, request, session

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES: tuple[str, ...] = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
SESSION_KEY = "lang"


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise KeyError(lang)
    return json.loads((TRANSLATIONS / f"{lang}.json").read_text(encoding="utf-8"))


def current_language() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    lang = g.get("lang")
    if lang is None:
        lang = g.lang = select_language()
    return lang


def select_language() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session[SESSION_KEY] = asked
        return asked
    remembered = session.get(SESSION_KEY)
    if remembered in LANGUAGES:
        return remembered
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) \
        or DEFAULT_LANGUAGE


def translate(key: str, lang: str | None = None, **params: Any) -> str:
    """The text of `key` in the language of the request (or `lang`); a key missing from the
    language falls back to Vietnamese, then to the key itself (the test forbids both)."""
    lang = lang or current_language()
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**params) if params else text


def has_key(key: str) -> bool:
    return key in catalogue(DEFAULT_LANGUAGE)


def label(prefix: str, code: str | None, lang: str | None = None) -> str:
    """A code's display name (`category.traffic`, `state.resolved`…), or the code itself."""
    if code is None:
        return ""
    key = f"{prefix}.{code}"
    return translate(key, lang) if has_key(key) else code


def department_label(code: str | None, lang: str | None = None) -> str:
    """Departments: named ones from the catalogue; `ubnd_<district>` as that district's
    people's committee."""
    if not code:
        return ""
    if has_key(f"dept.{code}"):
        return translate(f"dept.{code}", lang)
    if code.startswith("ubnd_") and has_key(f"district.{code[5:]}"):
        return translate("dept.ubnd_of", lang, district=translate(f"district.{code[5:]}", lang))
    return code


def switch_url(lang: str) -> str:
    """The current page in another language. A page rendered by a POST names the GET page
    it belongs to in `g.page_path`."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = lang
    return f"{g.get('page_path') or request.path}?{urlencode(args)}"


def install(bp: Blueprint) -> None:
    """Pick the language before each of the blueprint's requests; give its templates `_`,
    `lang`, `label`, `department_label` and `switch_url`."""

    @bp.before_request
    def _pick_language() -> None:
        g.lang = select_language()

    @bp.context_processor
    def _helpers() -> dict[str, Any]:
        return {"_": translate, "lang": current_language(), "languages": LANGUAGES,
                "label": label, "department_label": department_label,
                "switch_url": switch_url}
