"""Alert rules and the Grafana dashboard: their shape, every metric they read is one the code
exports, every alert links to an existing runbook section. PromQL syntax and the alerts'
behaviour are checked by promtool (test_promtool.py; the dashboard's queries below)."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy import support

DASHBOARD = support.DEPLOY / "grafana" / "dashboards" / "hotline-1022.json"
KEYWORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}
DURATION = re.compile(r"^(\d+[smhdwy])+$")
TEMPLATE_FUNCS = {"humanize", "humanizePercentage", "humanizeDuration", "printf", "title"}


def strip_strings(expr: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (labels, functions and keywords left out)."""
    text = strip_strings(expr)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word in KEYWORDS:
            continue
        names.add(word)
    return names


# --------------------------------------------------------------------------------- rules

def test_rules_parse_and_have_the_expected_shape():
    groups = support.rules()["groups"]
    assert [g["name"] for g in groups] == ["hotline-availability", "hotline-pipeline",
                                           "hotline-sla"]
    names = [a["alert"] for a in support.alerts()]
    assert len(names) == len(set(names)) >= 15
    for alert in support.alerts():
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"])
        if "for" in alert:
            assert DURATION.match(alert["for"])
        for text in alert["annotations"].values():
            for func in re.findall(r"\|\s*(\w+)", text):
                assert func in TEMPLATE_FUNCS


def test_the_brief_s_alerts_are_covered():
    exprs = {a["alert"]: a["expr"] for a in support.alerts()}
    assert "tracker_open_breaches" in exprs["HotlineSlaBreachesOpen"]
    assert 'level="escalation"' in exprs["HotlineSlaEscalation"]
    assert "< 0.99" in exprs["HotlineOnTimeRatioLow"]
    assert "intake_outbox_backlog" in exprs["HotlineOutboxBacklogGrowing"]
    assert "intake_outbox_published_total" in exprs["HotlineOutboxNotDraining"]
    assert "classifier_reports_total" in exprs["HotlineClassifierNotConsuming"]
    assert "tracker_tickets_created_total" in exprs["HotlineTicketsNotCreated"]
    assert "tracker_monitor_last_sweep_timestamp_seconds" in exprs["HotlineSlaMonitorStale"]
    assert "up{" in exprs["HotlineTargetDown"]
    assert 'status=~"5.."' in exprs["HotlineHigh5xxRate"]
    for alert, consumer in (("HotlineDeadLetters", "classifier-worker"),
                            ("HotlineTrackerDeadLetters", "tracker-worker"),
                            ("HotlineProjectorDeadLetters", "intake-projector")):
        assert f'consumer_dead_letters_total{{consumer="{consumer}"}}' in exprs[alert]


def test_metric_names_reads_metrics_not_functions_or_labels():
    assert metric_names('sum by (le) (rate(a_bucket{x="y"}[5m])) / b offset 1h') == \
        {"a_bucket", "b"}


def _all_metric_names():
    names = {}
    for alert in support.alerts():
        for name in metric_names(alert["expr"]):
            names.setdefault(name, f"rule {alert['alert']}")
    for panel in json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]:
        for target in panel.get("targets", []):
            for name in metric_names(target["expr"]):
                names.setdefault(name, f"panel {panel['title']}")
    return names


@pytest.mark.parametrize("name", sorted(_all_metric_names()))
def test_metric_is_defined_by_the_code(name):
    if name in support.EXTERNAL_METRICS:
        return
    assert support.metric_defined(name), \
        f"{name} ({_all_metric_names()[name]}) is not exported by services/ or shared/"


def test_metric_lookup_would_catch_a_rename():
    assert support.metric_defined("intake_outbox_published_total")
    assert support.metric_defined("classifier_confidence_bucket")
    assert support.metric_defined("intake_outbox_backlog")
    assert not support.metric_defined("intake_outbox_publish_total")


def test_every_alert_links_to_an_existing_runbook_section():
    anchors = support.runbook_anchors()
    for alert in support.alerts():
        url = alert["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path == "docs/runbook.md"
        assert anchor == alert["alert"].lower()
        assert anchor in anchors, f"docs/runbook.md has no section '{alert['alert']}'"


def test_runbook_covers_the_operations():
    anchors = support.runbook_anchors()
    for section in ("deploy", "scale", "secrets", "rotate-the-pii-keys", "rotate-api-keys",
                    "replay-a-dead-letter-topic", "rebuild-the-model", "alerts",
                    "when-one-node-dies"):
        assert section in anchors, section
    text = support.RUNBOOK.read_text(encoding="utf-8")
    assert "python -m services.intake rotate-keys" in text
    assert "reports.submitted.v1.dlq" in text and "reports.classified.v1.dlq" in text
    assert "python -m services.classifier train" in text


def test_generated_prometheus_rule_is_the_rules_file():
    import yaml

    generated = support.K8S / "base" / "generated" / "prometheusrule.yaml"
    assert yaml.safe_load(generated.read_text(encoding="utf-8"))["spec"] == support.rules()


# ------------------------------------------------------------------------------ dashboard

def test_dashboard_has_the_panels_operations_asked_for():
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    titles = " | ".join(p["title"].lower() for p in panels)
    for words in ("reports accepted", "classifier throughput", "consumer lag",
                  "confidence mix", "open tickets", "on-time rate", "breaches"):
        assert words in titles, words
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    source = support.DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    uid = re.search(r"uid:\s*(\S+)", source.read_text()).group(1)
    for panel in panels:
        assert panel["datasource"]["uid"] == uid
        assert panel["targets"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid


def test_dashboard_queries_parse_in_promtool(tmp_path):
    """Prometheus's own parser reads every panel's query (as a recording rule)."""
    import yaml

    from tests.deploy.test_promtool import promtool

    exprs = [target["expr"] for panel in json.loads(DASHBOARD.read_text("utf-8"))["panels"]
             for target in panel.get("targets", [])]
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(exprs)]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout
