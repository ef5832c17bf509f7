"""The labelled corpus this project wrote (corpus/train, corpus/validation) and JSONL I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    category: str
    urgent: bool
    district: str | None
    style: str


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def to_example(row: dict) -> Example:
    return Example(str(row["id"]), row["text"], row["category"], bool(row.get("urgent", False)),
                   row.get("district"), row.get("style", "unknown"))


def load_split(name: str, directory: Path = CORPUS_DIR) -> list[Example]:
    rows: list[Example] = []
    for path in sorted((directory / name).glob("*.jsonl")):
        rows.extend(to_example(row) for row in read_jsonl(path))
    return rows


def load_file(path: Path) -> list[Example]:
    return [to_example(row) for row in read_jsonl(path)]
