"""The prediction contract: JSON Lines {"id", "text"} in, one JSON line per input out, in
order. Scripts depend on these keys (issue 15 added outcome, triage_reason, danger, call_now);
bad lines get {"id", "error"} and the run goes on. The id is required (a string or a finite
number); a UTF-8 byte-order mark before a line is ignored; nothing is written that is not
JSON (no Infinity, no NaN)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import IO, Any

from services.classifier.model import ReportClassifier

BATCH = 256


def _finite(value: Any) -> Any:
    """The id as it can be written back as JSON: 1e400 is not a number JSON can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_line(line: str) -> tuple[Any, str | None, str | None]:
    """(id, text, error). The id must be a string or a finite number."""
    try:
        row = json.loads(line.lstrip("\ufeff"), parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None, None, "not valid JSON"
    if not isinstance(row, dict):
        return None, None, "expected a JSON object"
    report_id = row.get("id")
    if "id" not in row or report_id is None:
        return None, None, "id is missing"
    if isinstance(report_id, bool) or not isinstance(report_id, (str, int, float)):
        return None, None, "id must be a string or a number"
    if isinstance(report_id, float) and not math.isfinite(report_id):
        return None, None, "id must be a finite number"
    text = row.get("text")
    if not isinstance(text, str):
        return report_id, None, "text must be a string"
    if not text.strip():
        return report_id, None, "text is empty"
    return report_id, text, None


def predict_lines(classifier: ReportClassifier, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    pending: list[tuple[Any, str | None, str | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        texts = [text for _, text, error in pending if error is None]
        predictions = iter(classifier.predict(texts))  # type: ignore[arg-type]
        for report_id, _text, error in pending:
            if error is not None:
                yield {"id": _finite(report_id), "error": error}
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
        stdout.write(json.dumps(result, ensure_ascii=False, allow_nan=False) + "\n")
    stdout.flush()
    return 0
