"""Schemathesis fuzzes intake from its own /openapi.json: no server error, answers as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.intake.app import create_app
from services.tracker.app import create_app as create_tracker
from shared.settings import Settings
from tests.helpers import live_server

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")


def test_schemathesis_finds_no_server_error(env, settings, db):
    """With a tracker behind it, so that the citizen's rating and reopen reach a real one."""
    cli = Path(sys.executable).with_name("schemathesis")
    with live_server(create_tracker(settings)) as tracker_url, \
            live_server(create_app(Settings.from_env({**env, "TRACKER_URL": tracker_url}))) \
            as base:
        run = subprocess.run(
            [str(cli), "run", f"{base}/openapi.json", "--checks", CHECKS,
             "--max-examples", "25", "--generation-deterministic", "--no-color"],
            capture_output=True, text=True, timeout=600)
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "failed" not in summary.split("Test cases:")[-1], summary
