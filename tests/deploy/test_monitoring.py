"""Alert rules and the Grafana dashboard: they parse, their PromQL is plausible, every metric
they read is one the code exports, every alert links to an existing runbook section."""

from __future__ import annotations

import json
import re

import pytest

from tests.deploy import support

DASHBOARD = support.DEPLOY / "grafana" / "dashboards" / "hotline-1022.json"
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp_max",
    "clamp_min", "count_over_time", "delta", "deriv", "floor", "histogram_quantile", "idelta",
    "increase", "irate", "label_replace", "max_over_time", "min_over_time", "predict_linear",
    "rate", "resets", "round", "scalar", "sort", "sum_over_time", "time", "timestamp", "vector",
}
AGGREGATIONS = {"sum", "min", "max", "avg", "count", "stddev", "topk", "bottomk", "quantile"}
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


def check_promql(expr: str) -> None:
    """Syntax plausibility without a PromQL parser (promtool is not a Python package)."""
    assert expr.strip(), "empty expression"
    text = strip_strings(expr)
    assert text.count('"') % 2 == 0
    stack = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in ")]}":
            assert stack and stack.pop() == pairs[char], f"unbalanced {char!r} in {expr}"
    assert not stack, f"unclosed {stack} in {expr}"
    for call in re.findall(r"\b([a-zA-Z_]+)\s*\(", text):
        if call in KEYWORDS:
            continue
        assert call in FUNCTIONS | AGGREGATIONS, f"unknown function {call}() in {expr}"
    for window in re.findall(r"\[([^\]]*)\]", text):
        parts = window.split(":")
        assert DURATION.match(parts[0]), f"bad range [{window}]"
        assert len(parts) <= 2 and (len(parts) == 1 or not parts[1]
                                    or DURATION.match(parts[1])), f"bad subquery [{window}]"
    for matcher in re.findall(r"\{([^}]*)\}", strip_strings(expr).replace('""', "X")):
        for part in filter(None, (p.strip() for p in matcher.split(","))):
            assert re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*X$", part), \
                f"bad label matcher {part!r} in {expr}"
    assert not re.search(r"(and|or|unless|[-+*/<>=])\s*$", text.strip()), "dangling operator"
    assert not re.match(r"^\s*(and|or|unless|[*/<>=])", text), "leading operator"


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
    assert "classifier_dead_letters_total" in exprs["HotlineDeadLetters"]
    assert "tracker_dead_letters_total" in exprs["HotlineTrackerDeadLetters"]


@pytest.mark.parametrize("alert", support.alerts(), ids=lambda a: a["alert"])
def test_rule_expression_is_plausible_promql(alert):
    check_promql(alert["expr"])


def test_promql_check_rejects_broken_expressions():
    for broken in ('sum(rate(x_total[5m])', 'rate(x_total[5 m])', 'x{job="a"', 'x >',
                   'summ(x)', 'x{job=a}', 'rate(x_total[5m:1q])'):
        with pytest.raises(AssertionError):
            check_promql(broken)
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
            check_promql(target["expr"])
            assert target["datasource"]["uid"] == uid
