"""The prediction contract: JSON Lines {"id", "text"} in, one JSON line per input out, in
order. Scripts depend on these keys; bad lines get {"id", "error"} and the run goes on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from services.classifier.model import ReportClassifier

BATCH = 256


def parse_line(line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error)."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None, "not valid JSON"
    if not isinstance(row, dict):
        return None, None, "expected a JSON object"
    text = row.get("text")
    if not isinstance(text, str):
        return row.get("id"), None, "text must be a string"
    if not text.strip():
        return row.get("id"), None, "text is empty"
    return row.get("id"), text, None


def predict_lines(classifier: ReportClassifier, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    pending: list[tuple[Any, str | None, str | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        texts = [text for _, text, error in pending if error is None]
        predictions = iter(classifier.predict(texts))  # type: ignore[arg-type]
        for report_id, _text, error in pending:
            if error is not None:
                yield {"id": report_id, "error": error}
            else:
                yield {"id": report_id, **next(predictions).as_dict(),
                       "model_version": classifier.version}
        pending.clear()

    for line in lines:
        if not line.strip():
            continue
        pending.append(parse_line(line))
        if len(pending) >= BATCH:
            yield from flush()
    yield from flush()


def run(classifier: ReportClassifier, stdin: IO[str], stdout: IO[str]) -> int:
    for result in predict_lines(classifier, stdin):
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
