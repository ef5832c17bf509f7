"""The gettext catalogues: every message in both languages with the same placeholders and the
same plural shape, the compiled .mo files up to date, every key the pages use exists, every
code the pages show has a name, and dates and numbers written each language's way."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import flask_babel
import pytest
from babel.messages.mofile import read_mo
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.reports.service import REPORT_STATUSES
from services.tracker.staff import ROLES
from shared.events import Channel
from shared.settings import REPO_ROOT
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES, load_taxonomy
from shared.tickets import SLA_STATES, STATES
from shared.web import catalogues
from shared.web.catalogues import mo_path, placeholders, read_catalogue, texts
from shared.web.i18n import (
    LANGUAGES,
    day_month,
    department_label,
    install_babel,
    label,
    local_time,
    ngettext,
    percent,
    translate,
)

PAGES = [REPO_ROOT / "services" / "intake" / "pages",
         REPO_ROOT / "services" / "tracker" / "pages", REPO_ROOT / "shared" / "web"]
LITERAL_KEY = re.compile(
    r"""(?:\b_|\b_n|translate|ngettext)\(\s*["']([a-z_0-9]+\.[a-z_0-9]+)["']""")
PLURAL_CALL = re.compile(r"""(?:\b_n|ngettext)\(\s*["']([a-z_0-9]+\.[a-z_0-9]+)["']""")


def catalogue(lang: str) -> dict[str, str | tuple[str, ...]]:
    return texts(read_catalogue(lang))


def forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    return text if isinstance(text, tuple) else (text,)


def test_both_languages_have_the_same_keys_placeholders_and_plural_shape():
    vi, en = catalogue("vi"), catalogue("en")
    assert len(vi) > 300
    assert set(vi) == set(en), set(vi) ^ set(en)
    for key in vi:
        assert isinstance(vi[key], tuple) == isinstance(en[key], tuple), key
        expected = placeholders(forms(vi[key])[0])
        for text in (*forms(vi[key]), *forms(en[key])):
            assert text.strip(), key
            assert placeholders(text) == expected, key


def test_plural_messages_have_as_many_forms_as_the_language_asks_and_show_the_count():
    for lang in LANGUAGES:
        catalogue_ = read_catalogue(lang)
        plural = {k: v for k, v in texts(catalogue_).items() if isinstance(v, tuple)}
        assert len(plural) >= 7, lang
        for key, text in plural.items():
            assert len(text) == catalogue_.num_plurals, (lang, key)
            assert all("{n}" in form for form in text), (lang, key)


def test_no_message_is_fuzzy_and_placeholders_are_flagged():
    """Weblate and Poedit check `{name}` fields only in messages flagged python-brace-format
    (Babel drops the flag on reading keyed messages, so read the file's lines)."""
    for lang in LANGUAGES:
        text = catalogues.po_path(lang).read_text(encoding="utf-8")
        blocks = [block for block in text.split("\n\n")[1:] if block.strip()]
        assert len(blocks) == len(catalogue(lang))
        for block in blocks:
            flags = [line for line in block.splitlines() if line.startswith("#,")]
            assert not any("fuzzy" in line for line in flags), block
            lines = block.splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("msgstr"))
            # a long text is written `msgstr ""` followed by continuation lines
            fields = any(placeholders(line.split(" ", 1)[1] if line.startswith("msgstr")
                                      else line) for line in lines[start:]
                         if line.startswith(("msgstr", '"')))
            assert any("python-brace-format" in line for line in flags) == fields, block


def test_compiled_catalogues_are_up_to_date():
    """The .mo files are committed (so every install path, the container image included, has
    them); they must say exactly what the .po files say (`make messages` rewrites them)."""
    for lang in LANGUAGES:
        with mo_path(lang).open("rb") as fh:
            shipped = texts(read_mo(fh))
        source = texts(read_catalogue(lang))
        assert shipped == source, lang


def test_texts_that_show_a_count_use_plural_forms():
    used = {key for path in _sources() for key in PLURAL_CALL.findall(path.read_text())}
    plural = {k for k, v in catalogue("vi").items() if isinstance(v, tuple)}
    assert used == plural


def test_json_import_adds_and_updates_keys_and_keeps_plural_forms(tmp_path):
    root = tmp_path / "translations"
    for lang in LANGUAGES:
        (root / lang / "LC_MESSAGES").mkdir(parents=True)
        catalogues.po_path(lang, root).write_bytes(catalogues.po_path(lang).read_bytes())
    report = catalogues.import_json({
        "vi": {"new.key": "Mới {x}", "site.title": "Tiêu đề mới", "dashboard.days": "{n} ngày",
               "site.tagline": catalogue("vi")["site.tagline"]},
        "en": {"new.key": "New {x}", "site.title": "New title", "dashboard.days": "{n} days",
               "new.count": ["{n} thing", "{n} things"]},
    }, root)
    assert report["vi"] == ["added new.key", "updated site.title", "kept plural dashboard.days"]
    assert report["en"][-1] == "added new.count"
    en = texts(read_catalogue("en", root))
    assert en["new.key"] == "New {x}" and en["site.title"] == "New title"
    assert en["dashboard.days"] == catalogue("en")["dashboard.days"]
    assert en["new.count"] == ("{n} thing", "{n} things")
    assert catalogues.mo_path("en", root).exists()


def test_json_import_command_reads_a_folder(tmp_path, monkeypatch):
    root = tmp_path / "translations"
    for lang in LANGUAGES:
        (root / lang / "LC_MESSAGES").mkdir(parents=True)
        catalogues.po_path(lang, root).write_bytes(catalogues.po_path(lang).read_bytes())
    source = tmp_path / "json"
    source.mkdir()
    (source / "vi.json").write_text(json.dumps({"x.y": "Xin chào"}), encoding="utf-8")
    (source / "en.json").write_text(json.dumps({"x.y": "Hello"}), encoding="utf-8")
    monkeypatch.setattr(catalogues, "TRANSLATIONS", root)
    monkeypatch.setattr(catalogues.import_json, "__defaults__", (root,))
    assert catalogues.main(["import-json", str(source)]) == 0
    assert texts(read_catalogue("vi", root))["x.y"] == "Xin chào"


@pytest.fixture
def babel_app():
    app = Flask(__name__)
    app.secret_key = "test"
    install_babel(app, timezone="Asia/Ho_Chi_Minh")
    return app


def test_plural_forms_and_numbers_follow_the_language(babel_app):
    assert ngettext("dashboard.days", 1, "en") == "1 day"
    assert ngettext("dashboard.days", 30, "en") == "30 days"
    assert ngettext("dashboard.days", 1, "vi") == "1 ngày"
    assert translate("err.description_long", "vi", max=4000) == \
        "Nội dung quá dài: tối đa 4.000 ký tự."
    assert translate("err.description_long", "en", max=4000) == \
        "Too long: at most 4,000 characters."
    moment = datetime(2026, 12, 5, 7, 3, tzinfo=UTC)  # 14:03 in the city
    with babel_app.test_request_context("/?lang=vi"):
        assert local_time(moment) == "14:03 5/12/26"
        assert local_time(moment, "time") == "14:03:00"
        assert percent(0.987) == "98,7%"
        assert day_month(date(2026, 12, 5)) == "5/12"
        assert ngettext("notice.bulk", 2, state="X") == "Đã chuyển 2 phiếu sang «X»."
    with babel_app.test_request_context("/", headers={"Accept-Language": "en-GB,en;q=0.9"}):
        assert local_time(moment) == "12/5/26, 2:03\u202fPM"
        assert percent(0.987) == "98.7%"
        assert percent(None) == "—"
        assert day_month(date(2026, 12, 5)) == "12/5"
        assert ngettext("notice.bulk", 1, state="X") == "1 ticket moved to “X”."


@given(st.integers(min_value=0, max_value=10**6))
def test_every_count_gets_a_text_with_the_count_in_both_languages(n):
    for lang in LANGUAGES:
        for key in ("report.fix_errors", "notice.bulk", "dashboard.days"):
            text = ngettext(key, n, lang, state="s")
            assert text != key
            assert translate("x", lang) == "x"  # an unknown key stays visible, never a crash


def _sources() -> list[Path]:
    return [p for folder in PAGES for p in folder.rglob("*")
            if p.suffix in {".py", ".html"}]


def test_every_key_the_pages_use_exists():
    used = {key for path in _sources() for key in LITERAL_KEY.findall(path.read_text())}
    assert len(used) > 150
    missing = used - set(catalogue("vi"))
    assert not missing, missing


@pytest.mark.parametrize(("prefix", "codes"), [
    ("category", CATEGORY_CODES), ("district", DISTRICT_CODES), ("state", STATES),
    ("status", REPORT_STATUSES), ("sla", SLA_STATES), ("role", ROLES),
    ("channel", Channel.__args__), ("clock", ("first_response", "resolution")),
    ("lang", LANGUAGES),
])
def test_every_code_has_a_name(prefix, codes):
    for lang in LANGUAGES:
        for code in codes:
            assert f"{prefix}.{code}" in catalogue(lang), (lang, prefix, code)


def test_vietnamese_names_match_the_contracts(config):
    for cat in load_taxonomy().categories:
        assert label("category", cat.code, "vi") == cat.name_vi
    for code, name in config.routing.names.items():
        assert department_label(code, "vi") == name
    assert department_label("ubnd_q3", "vi") == "UBND Quận 3"
    assert department_label("ubnd_q3", "en") == "People's Committee of District 3"


CITY_APP = Flask(__name__)
CITY_APP.secret_key = "test"
install_babel(CITY_APP, timezone="Asia/Ho_Chi_Minh")
DST_APP = Flask(__name__)  # a zone with summer time: the offset changes within a year
DST_APP.secret_key = "test"
install_babel(DST_APP, timezone="Europe/Berlin")


@settings(deadline=None)  # the first example loads the locale data
@given(moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
                           timezones=st.sampled_from([None, UTC])),
       lang=st.sampled_from(LANGUAGES), app=st.sampled_from([CITY_APP, DST_APP]))
def test_a_moment_is_written_as_flask_babel_writes_it(moment, lang, app):
    # local_time formats with Babel directly (no pytz `normalize`, a no-op after astimezone);
    # the text must stay Flask-Babel's, naive moments read as UTC
    with app.test_request_context(f"/?lang={lang}"):
        assert local_time(moment) == flask_babel.format_datetime(moment, "short")


def test_names_follow_each_requests_language(babel_app):
    # the names are looked up once per language: a page in the other language gets its own
    for lang in [*LANGUAGES, *LANGUAGES]:
        with babel_app.test_request_context(f"/?lang={lang}"):
            assert label("category", "traffic") == translate("category.traffic", lang)
            assert label("state", "in_progress") == translate("state.in_progress", lang)
            assert department_label("ubnd_q3") == department_label("ubnd_q3", lang)
            assert label("category", "no_such_code") == "no_such_code"
            assert department_label("no_such_dept") == "no_such_dept"
    with babel_app.test_request_context("/?lang=en"):
        assert department_label("ubnd_q3") == "People's Committee of District 3"
        assert label("category", "traffic") != label("category", "traffic", "vi")
