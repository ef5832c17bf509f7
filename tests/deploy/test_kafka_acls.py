"""Finding 12: each service has its own Kafka user whose ACLs are exactly the topics its code
reads and writes (and its consumer groups); every Kafka client pod authenticates as its own
service's user."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shared.topics as topics_module
from shared.consumer import dead_letter_topic
from shared.topics import GROUPS, READS, TOPICS, WRITES
from tests.deploy.support import OVERLAYS, by_kind, pod_spec

ROOT = Path(__file__).resolve().parents[2]
TOPIC_CONSTANTS = {name: value for name, value in vars(topics_module).items()
                   if name.isupper() and isinstance(value, str) and value in TOPICS}


def _code_use(service: str) -> tuple[set[str], set[str], set[str]]:
    """(topics consumed, topics written, consumer group names) in the service's code: a topic
    among the `reads` of a ConsumerSpec is read, and its dead-letter topic written (the shared
    loop sets aside there what it cannot process); any other topic it names is written (a
    topic read in one module may be written in another: sla.alerts.v1)."""
    reads, named, groups = set(), set(), set()
    for path in (ROOT / "services" / service).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        file_reads: set[str] = set()
        file_named: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in TOPIC_CONSTANTS:
                file_named.add(TOPIC_CONSTANTS[node.id])
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ConsumerSpec":
                spec_reads = next(k.value for k in node.keywords if k.arg == "reads")
                assert isinstance(spec_reads, ast.Dict), "reads: a literal {TOPIC: events}"
                file_reads |= {TOPIC_CONSTANTS[k.id] for k in spec_reads.keys
                          if isinstance(k, ast.Name) and k.id in TOPIC_CONSTANTS}
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "GROUP"
                                                    for t in node.targets):
                groups.add(ast.literal_eval(node.value))
        reads |= file_reads
        named |= file_named - file_reads
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = node.args.defaults + node.args.kw_defaults
                for arg, default in zip(args[len(args) - len(defaults):], defaults,
                                        strict=True):
                    if arg.arg == "group_id" and isinstance(default, ast.Constant):
                        groups.add(default.value)
    return reads, named | {dead_letter_topic(t) for t in reads}, groups


@pytest.mark.parametrize("service", ["intake", "classifier", "tracker"])
def test_declared_reads_and_writes_are_what_the_code_does(service):
    reads, writes, groups = _code_use(service)
    assert set(READS[service]) == reads
    assert set(WRITES[service]) == writes
    assert set(GROUPS[service]) == groups


def test_every_topic_read_has_its_dead_letter_topic():
    read = {t for topics in READS.values() for t in topics}
    assert {dead_letter_topic(t) for t in read} <= set(TOPICS)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_attack_a_service_reading_or_writing_another_services_topic_is_denied_by_acl(overlay):
    users = {u["metadata"]["name"]: u for u in by_kind(overlay, "KafkaUser")}
    assert set(users) == {"intake", "classifier", "tracker", "hotline-bootstrap"}
    for name, user in users.items():
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        acls = user["spec"]["authorization"]["acls"]
        granted = {(a["resource"]["type"], a["resource"]["name"], op)
                   for a in acls for op in a["operations"]}
        assert all(a["resource"]["patternType"] == "literal" for a in acls)  # no wildcards
        if name == "hotline-bootstrap":
            expected = {("topic", t, op) for t in TOPICS for op in ("Describe", "Create")}
        else:
            expected = ({("topic", t, op) for t in READS[name] for op in ("Describe", "Read")}
                        | {("topic", t, op) for t in WRITES[name] for op in ("Describe", "Write")}
                        | {("group", g, op) for g in GROUPS[name] for op in ("Describe", "Read")})
        assert granted == expected, name


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_kafka_client_pod_logs_in_as_its_own_service(overlay):
    for deployment in by_kind(overlay, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if labels.get("hotline.io/kafka-client") != "true":
            continue
        service = labels["app.kubernetes.io/name"].split("-")[0]
        for container in pod_spec(deployment)["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            assert env["KAFKA_USERNAME"]["value"] == service
            assert env["KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": service, "key": "password"}
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/etc/kafka-ca" in mounts


def test_the_clients_authenticate_with_the_settings_kubernetes_gives_them():
    from shared.kafka import security
    from shared.settings import Settings
    from tests.deploy.support import find

    config = find("base", "ConfigMap", "hotline-config")["data"]
    env = {k: v for k, v in config.items() if k.startswith("KAFKA_")}
    env |= {"KAFKA_USERNAME": "tracker", "KAFKA_PASSWORD": "from-the-kafkauser-secret"}
    settings = Settings.from_env(env)
    assert settings.kafka_create_topics is False
    assert security(settings) == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "tracker", "sasl_plain_password": "from-the-kafkauser-secret",
        "ssl_cafile": "/etc/kafka-ca/ca.crt"}
    assert security(Settings.from_env({})) == {}  # the embedded broker: plaintext, as before
