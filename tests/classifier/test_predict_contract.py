"""`python -m services.classifier predict`: the JSON Lines contract scripts depend on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.taxonomy import CATEGORY_CODES, DISTRICT_CODES

REPO = Path(__file__).resolve().parents[2]
KEYS = {"id", "category", "confidence", "top3", "urgent", "district", "needs_triage",
        "model_version", "outcome", "triage_reason", "danger", "call_now"}


def run_predict(model_path: Path, stdin: bytes) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "services.classifier", "predict"], cwd=REPO,
                          input=stdin, capture_output=True, timeout=120,
                          env={**os.environ, "CLASSIFIER_MODEL": str(model_path)})
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(line) for line in done.stdout.decode().splitlines()]


def test_one_line_out_per_line_in_same_order(model_path):
    lines = [
        {"id": 1, "text": "Đường Nguyễn Hữu Cảnh ngập sâu sau mưa, xe chết máy hàng loạt, "
                          "q.bình thạnh"},
        "not json at all",
        {"id": "b", "text": ""},
        {"id": "c", "text": 42},
        [1, 2],
        {"id": "d", "text": "karaoke hát tới 2h sáng ở hẻm 45 quận 3, ko ai ngủ được"},
        {"id": "e", "text": "🙂🙂🙂"},
    ]
    raw = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                    for x in lines).encode() + b"\n\xff\xfe broken utf8\n"
    out = run_predict(model_path, raw)
    assert len(out) == len(lines) + 1
    assert [o.get("id") for o in out] == [1, None, "b", "c", None, "d", "e", None]
    assert set(out[0]) == KEYS and set(out[5]) == KEYS and set(out[6]) == KEYS
    for bad in (1, 2, 3, 4, 7):
        assert set(out[bad]) == {"id", "error"}
    first = out[0]
    assert first["category"] in CATEGORY_CODES
    assert first["district"] == "binh_thanh"
    assert len(first["top3"]) == 3 and first["top3"][0][0] == first["category"]
    assert abs(first["top3"][0][1] - first["confidence"]) < 1e-6
    assert out[5]["district"] == "q3" and out[5]["category"] == "noise"
    assert out[6]["needs_triage"] is True
    assert all(o["district"] in (None, *DISTRICT_CODES) for o in out if "district" in o)


def test_bom_missing_id_and_non_finite_ids(model_path):
    """Issue 15: a UTF-8 BOM is not an error; a missing id is; 1e400 is never written back as
    Infinity (not JSON) and NaN is not accepted as JSON."""
    text = "karaoke hát tới 2h sáng ở hẻm 45 quận 3, ko ai ngủ được"
    lines = [
        "\ufeff" + json.dumps({"id": "bom", "text": text}, ensure_ascii=False),
        json.dumps({"text": text}, ensure_ascii=False),
        json.dumps({"id": None, "text": text}, ensure_ascii=False),
        '{"id": 1e400, "text": "karaoke tới 2h sáng ở quận 3"}',
        '{"id": NaN, "text": "karaoke tới 2h sáng ở quận 3"}',
        json.dumps({"id": 7.5, "text": text}, ensure_ascii=False),
    ]
    done = subprocess.run([sys.executable, "-m", "services.classifier", "predict"], cwd=REPO,
                          input="\n".join(lines).encode() + b"\n", capture_output=True,
                          timeout=120, env={**os.environ, "CLASSIFIER_MODEL": str(model_path)})
    assert done.returncode == 0, done.stderr.decode()
    raw = done.stdout.decode()
    assert "Infinity" not in raw and "NaN" not in raw
    out = [json.loads(line) for line in raw.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["id"] == "bom" and out[0]["category"] == "noise"
    assert out[1] == {"id": None, "error": "id is missing"}
    assert out[2] == {"id": None, "error": "id is missing"}
    assert out[3]["id"] is None and "error" in out[3]
    assert out[4]["id"] is None and "error" in out[4]
    assert out[5]["id"] == 7.5 and out[5]["category"] == "noise"
