"""The catalogue: every key in both languages with the same placeholders, every key the pages
use exists, and every code the pages show has a name."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from services.intake.reports.service import REPORT_STATUSES
from services.tracker.staff import ROLES
from shared.events import Channel
from shared.settings import REPO_ROOT
from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES, load_taxonomy
from shared.tickets import SLA_STATES, STATES
from shared.web.i18n import LANGUAGES, catalogue, department_label, label

PAGES = [REPO_ROOT / "services" / "intake" / "pages",
         REPO_ROOT / "services" / "tracker" / "pages", REPO_ROOT / "shared" / "web"]
LITERAL_KEY = re.compile(r"""(?:\b_|translate)\(\s*["']([a-z_0-9]+\.[a-z_0-9]+)["']""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders():
    vi, en = catalogue("vi"), catalogue("en")
    assert set(vi) == set(en), set(vi) ^ set(en)
    for key in vi:
        assert placeholders(vi[key]) == placeholders(en[key]), key
        assert vi[key].strip() and en[key].strip(), key


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
