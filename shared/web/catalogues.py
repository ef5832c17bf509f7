"""The pages' gettext catalogues: read, compare, import from JSON, compile to .mo.

One `.po` per language under `translations/<lang>/LC_MESSAGES/messages.po` (what Flask-Babel,
Weblate and Poedit read). Messages are keyed: the msgid is a stable key such as `report.title`
(Weblate's "monolingual gettext" layout, with `vi` as the source language), and the text carries
`{name}` placeholders (flagged `python-brace-format`). A message that shows a count has plural
forms: msgid and msgid_plural are the key, and each language gives as many `msgstr[i]` as its
Plural-Forms header asks (one in Vietnamese, two in English).

    python -m shared.web.catalogues compile            # .po -> .mo (what `make messages` runs)
    python -m shared.web.catalogues import-json DIR    # add/update keys from DIR/{vi,en}.json
    python -m shared.web.catalogues import-json --git-ref BRANCH
                                                       # the same, from a branch's JSON files

A JSON value is a string, or a list of plural forms (`["{n} ticket", "{n} tickets"]`).
"""

from __future__ import annotations

import argparse
import io
import json
import string
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES: tuple[str, ...] = ("vi", "en")
DOMAIN = "messages"
JSON_PATH_IN_REPO = "shared/web/translations/{lang}.json"
BRACE_FLAG = "python-brace-format"
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)

Text = str | tuple[str, ...]


def po_path(lang: str, root: Path = TRANSLATIONS) -> Path:
    return root / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str, root: Path = TRANSLATIONS) -> Path:
    return root / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def read_catalogue(lang: str, root: Path = TRANSLATIONS) -> Catalog:
    with po_path(lang, root).open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


def texts(catalogue: Catalog) -> dict[str, Text]:
    """key -> text (a string) or plural forms (a tuple), header left out."""
    out: dict[str, Text] = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id[0] if message.pluralizable else message.id
        out[key] = tuple(message.string) if message.pluralizable else message.string
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _flags(text: Text) -> list[str]:
    forms = text if isinstance(text, tuple) else (text,)
    return [BRACE_FLAG] if any(placeholders(form) for form in forms) else []


def set_text(catalogue: Catalog, key: str, text: Text) -> None:
    message_id: str | tuple[str, str] = (key, key) if isinstance(text, tuple) else key
    catalogue.delete(key)
    message = Message(message_id, text)
    # Babel derives the flag from the msgid, which is a key here: set it from the text
    message.flags.update(_flags(text))
    catalogue[key] = message


def write_catalogue(catalogue: Catalog, lang: str, root: Path = TRANSLATIONS) -> None:
    path = po_path(lang, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    for message in catalogue:
        if message.id:  # read_po drops the flag (it looks at the msgid, a key): set it again
            text = tuple(message.string) if message.pluralizable else message.string
            message.flags.update(_flags(text))
    buffer = io.BytesIO()
    # no dates, no line wrapping: a change to one message is a one-line diff
    write_po(buffer, catalogue, width=0, omit_header=False, sort_output=False)
    lines = [line for line in buffer.getvalue().decode("utf-8").splitlines()
             if not line.startswith(('"POT-Creation-Date', '"PO-Revision-Date'))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def new_catalogue(lang: str) -> Catalog:
    catalogue = Catalog(locale=lang, domain=DOMAIN, project="1022", version="1",
                        copyright_holder="1022 contributors", charset="utf-8",
                        last_translator="1022 contributors",
                        language_team=f"1022 {lang}", fuzzy=False)
    return catalogue


def compiled(lang: str, root: Path = TRANSLATIONS) -> bytes:
    catalogue = read_catalogue(lang, root)
    # the .po files carry no dates (Babel would stamp "now"): the same .po, the same .mo bytes
    catalogue.creation_date = catalogue.revision_date = FIXED_DATE
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    return buffer.getvalue()


def compile_all(root: Path = TRANSLATIONS) -> list[Path]:
    written = []
    for lang in LANGUAGES:
        path = mo_path(lang, root)
        data = compiled(lang, root)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(path)
    return written


def _as_text(value: object, *, key: str, lang: str) -> Text:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{lang}.json: {key} must be a string or a list of plural forms")


def import_json(sources: Mapping[str, Mapping[str, object]],
                root: Path = TRANSLATIONS) -> dict[str, list[str]]:
    """Bring JSON messages into the .po files: new keys are added, changed texts replace the
    old ones. A plain string never replaces plural forms (the JSON files predate them): such
    keys are reported as `kept`. Returns what happened, per language."""
    report: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        catalogue = read_catalogue(lang, root)
        current = texts(catalogue)
        done: list[str] = []
        for key, raw in sources.get(lang, {}).items():
            text = _as_text(raw, key=key, lang=lang)
            old = current.get(key)
            if old == text:
                continue
            if isinstance(old, tuple) and isinstance(text, str):
                done.append(f"kept plural {key}")
                continue
            set_text(catalogue, key, text)
            done.append(f"{'added' if old is None else 'updated'} {key}")
        write_catalogue(catalogue, lang, root)
        report[lang] = done
    compile_all(root)
    return report


def json_from_dir(folder: Path) -> dict[str, dict[str, object]]:
    return {lang: json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in LANGUAGES if (folder / f"{lang}.json").exists()}


def json_from_git(ref: str) -> dict[str, dict[str, object]]:
    out = {}
    for lang in LANGUAGES:
        shown = subprocess.run(["git", "show", f"{ref}:{JSON_PATH_IN_REPO.format(lang=lang)}"],
                               capture_output=True, text=True, check=False)
        if shown.returncode == 0:
            out[lang] = json.loads(shown.stdout)
    if not out:
        raise SystemExit(f"{ref} has no {JSON_PATH_IN_REPO.format(lang='*')}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.web.catalogues")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("compile", help="write the .mo files from the .po files")
    imp = sub.add_parser("import-json", help="add or update keys from {vi,en}.json")
    imp.add_argument("folder", nargs="?", type=Path, help="folder holding vi.json and en.json")
    imp.add_argument("--git-ref", help="read the JSON files of this branch or commit instead")
    args = parser.parse_args(argv)
    if args.command == "compile":
        for path in compile_all():
            print(f"wrote {path}")
        return 0
    if bool(args.folder) == bool(args.git_ref):
        parser.error("give a folder or --git-ref")
    sources = json_from_git(args.git_ref) if args.git_ref else json_from_dir(args.folder)
    for lang, lines in import_json(sources).items():
        print(f"{lang}: {len(lines)} change(s)")
        for line in lines:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
