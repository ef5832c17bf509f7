"""A service started with a bad setting says which setting, in one line, and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("service,command", [
    ("intake", "init-db"), ("classifier", "init-db"), ("tracker", "init-db")])
def test_a_bad_setting_exits_2_naming_it_without_a_traceback(service, command):
    env = {"PATH": os.environ.get("PATH", ""), "APP_ENV": "staging-typo"}
    run = subprocess.run([sys.executable, "-m", f"services.{service}", command], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert f"{service}: configuration error:" in run.stderr
    assert "APP_ENV" in run.stderr
