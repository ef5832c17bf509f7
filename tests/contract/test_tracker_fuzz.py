"""Schemathesis fuzzes the tracker from its own /openapi.json, as a supervisor and as a
handler, over a store holding real tickets: no server error, answers as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.tracker.app import create_app
from services.tracker.config import load_config
from services.tracker.store import init_db
from shared.clock import system_clock
from tests.contract.test_intake_fuzz import CHECKS
from tests.helpers import create_from_classified, live_server
from tests.tracker.conftest import classified


@pytest.mark.parametrize("token", ["demo-supervisor", "demo-handler-so_xay_dung"])
def test_schemathesis_finds_no_server_error_in_the_tracker(settings, db, token):
    config = load_config(settings)
    init_db(db)
    for category in ("traffic", "flooding", "health"):
        create_from_classified(db=db, config=config, now=system_clock(),
                               event=classified(at=system_clock(), category=category))
    app = create_app(settings, config=config)
    cli = Path(sys.executable).with_name("schemathesis")
    with live_server(app) as base:
        run = subprocess.run(
            [str(cli), "run", f"{base}/openapi.json", "--checks", CHECKS,
             "--max-examples", "25", "--generation-deterministic", "--no-color",
             "-H", f"Authorization: Bearer {token}"],
            capture_output=True, text=True, timeout=600)
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "failed" not in summary.split("Test cases:")[-1], summary
