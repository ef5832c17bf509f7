"""Interface text for the web pages: Vietnamese first, English second, through Flask-Babel.

The messages are gettext catalogues (`translations/<lang>/LC_MESSAGES/messages.po`, compiled
to `.mo`; see `shared.web.catalogues`), keyed by stable ids such as `report.title`, with
`{name}` placeholders. `translate(key, **params)` (`_` in templates) and
`ngettext(key, n, **params)` (`_n` in templates, for texts that show a count) are thin
wrappers over Flask-Babel's translations; numbers given as parameters are written the
language's way (`4.000` in Vietnamese, `4,000` in English).

The language comes from `?lang=` (remembered in the session), then the session, then
Accept-Language, then Vietnamese. Dates and numbers on the pages go through Flask-Babel's
`format_datetime`, `format_time`, `format_decimal` and `format_percent` in the page's language
and the city's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import flask_babel
from babel.dates import format_datetime as babel_datetime
from babel.dates import format_skeleton
from babel.numbers import format_decimal as babel_decimal
from babel.support import Translations
from flask import Blueprint, Flask, current_app, g, has_request_context, request, session

from shared.settings import Settings
from shared.web.catalogues import DOMAIN, LANGUAGES, TRANSLATIONS

DEFAULT_LANGUAGE = "vi"
SESSION_KEY = "lang"
PERCENT_PATTERNS = {0: "#,##0%", 1: "#,##0.0%", 2: "#,##0.00%"}

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "translate", "ngettext", "label",
           "department_label", "day_month", "install_babel", "install", "switch_url",
           "translations"]


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> Translations:
    """The compiled catalogue of `lang` (for code that runs outside a page request)."""
    if lang not in LANGUAGES:
        raise KeyError(lang)
    loaded = Translations.load(str(TRANSLATIONS), [lang], domain=DOMAIN)
    if not isinstance(loaded, Translations):
        raise FileNotFoundError(f"no compiled catalogue for {lang} under {TRANSLATIONS} "
                                "(run `make messages`)")
    return loaded


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


def _catalogue(lang: str | None) -> tuple[str, Any]:
    """Flask-Babel's translations for the request's language, or the named language's."""
    if lang is None and has_request_context() and "babel" in current_app.extensions:
        return current_language(), flask_babel.get_translations()
    lang = lang or current_language()
    return lang, translations(lang)


def _formatted(text: str, lang: str, params: dict[str, Any]) -> str:
    if not params:
        return text
    shown = {name: babel_decimal(value, locale=lang)
             if isinstance(value, int | float) and not isinstance(value, bool) else value
             for name, value in params.items()}
    return text.format(**shown)


def translate(key: str, lang: str | None = None, **params: Any) -> str:
    """The text of `key` in the language of the request (or `lang`); a key missing from the
    language falls back to Vietnamese, then to the key itself (the tests forbid both)."""
    lang, catalogue = _catalogue(lang)
    text = catalogue.gettext(key)
    if text == key and lang != DEFAULT_LANGUAGE:
        text = translations(DEFAULT_LANGUAGE).gettext(key)
    return _formatted(text, lang, params)


def ngettext(key: str, n: int, lang: str | None = None, **params: Any) -> str:
    """A text that shows the count `n` (`{n}`), in the plural form the language asks for."""
    lang, catalogue = _catalogue(lang)
    text = catalogue.ngettext(key, key, n)
    if text == key and lang != DEFAULT_LANGUAGE:
        text = translations(DEFAULT_LANGUAGE).ngettext(key, key, n)
    return _formatted(text, lang, {"n": n, **params})


def has_key(key: str) -> bool:
    return translations(DEFAULT_LANGUAGE).gettext(key) != key


def label(prefix: str, code: str | None, lang: str | None = None) -> str:
    """A code's display name (`category.traffic`, `state.resolved`…), or the code itself."""
    if code is None:
        return ""
    return _label(prefix, code, lang or current_language())


def department_label(code: str | None, lang: str | None = None) -> str:
    """Departments: named ones from the catalogue; `ubnd_<district>` as that district's
    people's committee."""
    if not code:
        return ""
    return _department_label(code, lang or current_language())


# The names are the compiled catalogues' (loaded once, `translations`), so each is looked up
# once per language: a list's rows showed the same few names at 12-25 µs each (measured)
@lru_cache(maxsize=4096)
def _label(prefix: str, code: str, lang: str) -> str:
    key = f"{prefix}.{code}"
    return translate(key, lang) if has_key(key) else code


@lru_cache(maxsize=1024)
def _department_label(code: str, lang: str) -> str:
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


def local_time(value: datetime | None, style: str = "datetime") -> str:
    """A moment in the city's time zone, written the language's way: `datetime` (date and
    time, short), `time` (hours, minutes, seconds) or `date`."""
    if value is None:
        return ""
    if style == "time":
        return flask_babel.format_time(value, "medium")
    if style == "date":
        return flask_babel.format_date(value, "short")
    # as flask_babel.format_datetime(value, "short") writes it, without its pytz `normalize`
    # (a no-op after `astimezone`; 10 of its 24 µs, measured, on every row of a list)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return babel_datetime(value.astimezone(flask_babel.get_timezone()), "short",
                          locale=flask_babel.get_locale())


def day_month(day: date) -> str:
    """A calendar day without the year, in the language's order (`5/12`, `12/5`)."""
    return format_skeleton("Md", day, locale=flask_babel.get_locale() or DEFAULT_LANGUAGE)


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return flask_babel.format_percent(value, PERCENT_PATTERNS.get(digits, "#,##0.0%"))


def decimal(value: float | int | None) -> str:
    return "—" if value is None else flask_babel.format_decimal(value)


def install_babel(app: Flask, *, timezone: str) -> None:
    """Flask-Babel on the app (once): the language rules above, the city's time zone, and the
    compiled catalogues shipped beside this module."""
    if "babel" in app.extensions:
        return
    flask_babel.Babel(app, default_locale=DEFAULT_LANGUAGE, default_domain=DOMAIN,
                      default_translation_directories=str(TRANSLATIONS),
                      default_timezone=timezone, locale_selector=current_language)


def install(bp: Blueprint, *, timezone: str | None = None) -> None:
    """Pick the language before each of the blueprint's requests; give its templates `_`,
    `_n`, `lang`, `label`, `department_label`, `switch_url` and the date and number
    filters. Without `timezone`: the setting's default (the first blueprint registered sets
    the app's Babel, and the apps register their pages, which pass the setting, first)."""
    bp.record_once(lambda state: install_babel(state.app,
                                               timezone=timezone or Settings.timezone))

    @bp.before_request
    def _pick_language() -> None:
        g.lang = select_language()

    @bp.context_processor
    def _helpers() -> dict[str, Any]:
        return {"_": translate, "_n": ngettext, "lang": current_language(),
                "languages": LANGUAGES, "label": label, "department_label": department_label,
                "switch_url": switch_url}

    bp.add_app_template_filter(local_time, "local_time")
    bp.add_app_template_filter(percent, "percent")
    bp.add_app_template_filter(decimal, "decimal")
