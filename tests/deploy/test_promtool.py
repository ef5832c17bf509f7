"""The alert rules and scrape configs checked by Prometheus's own promtool (Debian's
`prometheus` package, installed by `make tools`): the rules parse, every alert has unit tests
that make it fire and keep it silent, the Compose scrape config and the devstack's generated
one are valid. A missing promtool fails these tests: it is part of the toolchain."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from shared.devstack.prometheus import devstack_jobs, scrape_config
from shared.devstack.run import PROCESSES
from tests.deploy import support

RULE_TESTS = support.DEPLOY / "prometheus" / "tests" / "hotline.test.yml"
SCRAPE_CONFIG = support.DEPLOY / "prometheus" / "prometheus.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is missing: `make tools` installs Debian's prometheus package"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)


def alert_names() -> list[str]:
    groups = yaml.safe_load(support.RULES.read_text(encoding="utf-8"))["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules():
    result = promtool("check", "rules", str(support.RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(tmp_path):
    """The check above can fail: a typo in PromQL is refused."""
    broken = support.RULES.read_text(encoding="utf-8").replace(
        'sum(rate(loop_failed_rounds_total{loop="intake-relay"}[5m])) > 0',
        'sum(rate(loop_failed_rounds_total{loop="intake-relay"}[5m]) > 0', 1)
    path = tmp_path / "broken.rules.yml"
    path.write_text(broken, encoding="utf-8")
    result = promtool("check", "rules", str(path))
    assert result.returncode != 0
    assert "HotlineRelayFailing" in result.stdout + result.stderr


def test_promtool_unit_tests_of_the_alerts_pass():
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case():
    fired: set[str] = set()
    silent: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]:
        for check in case.get("alert_rule_test", []):
            name = check["alertname"]
            if check.get("exp_alerts"):
                fired.add(name)
                for alert in check["exp_alerts"]:
                    assert alert.get("exp_labels", {}).get("severity"), (name, case["name"])
            else:
                silent.add(name)
    names = set(alert_names())
    assert names - fired == set(), "alerts without a case that makes them fire"
    assert names - silent == set(), "alerts without a case that keeps them silent"
    assert (fired | silent) - names == set(), "tests of alerts the rules do not define"


def test_unit_tests_catch_a_changed_threshold(tmp_path):
    """Changing an alert's threshold breaks its unit tests: they test the rules, not nothing."""
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "hotline.rules.yml").write_text(support.RULES.read_text("utf-8").replace(
        "min by (department) (tracker_on_time_ratio) < 0.99",
        "min by (department) (tracker_on_time_ratio) < 0.9"), encoding="utf-8")
    tests_dir = tmp_path / "tests"
    tests_dir.mkdir()
    shutil.copy(RULE_TESTS, tests_dir / RULE_TESTS.name)
    result = promtool("test", "rules", str(tests_dir / RULE_TESTS.name))
    assert result.returncode != 0
    assert "HotlineOnTimeRatioLow" in result.stdout + result.stderr


def test_promtool_checks_the_compose_scrape_config(tmp_path):
    """The real prometheus.yml, with its rule_files pointed at the repository's rules (Compose
    mounts them at /etc/prometheus/rules), so the check also loads every rule."""
    text = SCRAPE_CONFIG.read_text(encoding="utf-8")
    assert "/etc/prometheus/rules/*.yml" in text
    copy = tmp_path / "prometheus.yml"
    copy.write_text(text.replace("/etc/prometheus/rules/*.yml",
                                 str(support.RULES.parent / "*.yml")), encoding="utf-8")
    result = promtool("check", "config", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in result.stdout


def test_compose_scrape_config_has_a_job_per_process_the_rules_watch():
    config = yaml.safe_load(SCRAPE_CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    watched = re.search(r'up\{job=~"([^"]+)"\}', support.RULES.read_text("utf-8")).group(1)
    assert set(watched.split("|")) <= jobs
    assert {p.name for p in PROCESSES} <= jobs


def test_devstack_scrape_config_passes_promtool(tmp_path):
    ports = {"intake_port": 18000, "classifier_port": 18001, "tracker_port": 18002}
    jobs = devstack_jobs(list(PROCESSES), host="127.0.0.1", ports=ports)
    assert set(jobs) == {p.name for p in PROCESSES}
    assert jobs["intake"] == ("127.0.0.1:18000", True)
    assert jobs["intake-relay"] == ("127.0.0.1:18000", False)  # on intake's /metrics
    assert jobs["tracker-monitor"] == ("127.0.0.1:18002", False)
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(scrape_config(jobs, self_target="127.0.0.1:19099")), "utf-8")
    result = promtool("check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in result.stdout


@pytest.mark.parametrize("missing", ["", "/nonexistent"])
def test_a_missing_promtool_fails_instead_of_skipping(monkeypatch, missing):
    monkeypatch.setenv("PATH", missing)
    with pytest.raises(AssertionError, match="make tools"):
        promtool("--version")
