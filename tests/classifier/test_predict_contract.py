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
        "department", "model_version"}


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
