"""deploy/docker-compose.yml: structure, start order, KRaft, replica set, monitoring."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from shared.topics import TOPICS
from tests.deploy import support
from tests.deploy.support import compose

KAFKA = ("kafka-1", "kafka-2", "kafka-3")
MONGO = ("mongo-1", "mongo-2", "mongo-3")
APP = {"intake": 8000, "intake-relay": 9100, "intake-projector": 9100,
       "intake-notifier": 9100, "classifier": 8001, "classifier-worker": 9100,
       "tracker": 8002, "tracker-worker": 9100, "tracker-monitor": 9100, "tracker-alerts": 9100}
ONE_SHOTS = {"kafka-topics", "mongo-keyfile", "mongo-init", "bootstrap", "rotate-keys"}
DEV_ONLY = re.compile(r"calfkit|secantus|tansu|devstack|\[dev\]", re.I)


def services():
    return compose()["services"]


def env(service):
    value = services()[service].get("environment", {})
    assert isinstance(value, dict), f"{service}: environment must be a mapping"
    return value


def test_every_process_kind_and_the_infrastructure_are_there():
    expected = set(KAFKA) | set(MONGO) | set(APP) | ONE_SHOTS | {
        "kafka-exporter", "prometheus", "grafana"}
    assert set(services()) == expected


def test_long_running_services_have_health_checks():
    for name, service in services().items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name
            assert "healthcheck" not in service
            continue
        check = service["healthcheck"]
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert service["restart"] == "unless-stopped", name


def test_app_health_checks_probe_the_right_port():
    for name, port in APP.items():
        service_env = env(name)
        assert services()[name]["healthcheck"]["test"] == [
            "CMD", "python", "/app/deploy/docker/healthcheck.py"]
        assert service_env["HEALTH_PORT"] == str(port), name
        if port == 9100:
            assert service_env["HEALTH_PATH"] == "/metrics"
            ports = {service_env.get("METRICS_PORT"), service_env.get("WORKER_METRICS_PORT")}
            assert "9100" in ports
        else:
            assert "HEALTH_PATH" not in service_env  # /healthz, the script's default


def test_depends_on_uses_conditions_in_the_right_order():
    def deps(name):
        entries = services()[name].get("depends_on", {})
        assert isinstance(entries, dict), f"{name}: depends_on needs conditions"
        return {dep: cond["condition"] for dep, cond in entries.items()}

    for name in services():
        for dep, condition in deps(name).items():
            assert dep in services()
            expected = ("service_completed_successfully" if dep in ONE_SHOTS
                        else "service_healthy")
            assert condition == expected, f"{name} -> {dep}"
    for name in APP:
        assert deps(name) == {"bootstrap": "service_completed_successfully"}
    assert deps("bootstrap") == {"kafka-topics": "service_completed_successfully",
                                 "mongo-init": "service_completed_successfully"}
    assert set(deps("kafka-topics")) == set(KAFKA)
    assert set(deps("mongo-init")) == set(MONGO)
    for member in MONGO:
        assert deps(member) == {"mongo-keyfile": "service_completed_successfully"}


def test_app_services_run_the_right_commands_from_the_built_images():
    for name in APP:
        service = services()[name]
        module = f"services.{name.split('-')[0]}"
        assert service["image"] == f"hotline1022/{name.split('-')[0]}:latest"
        assert service["build"]["target"] == name.split("-")[0]
        assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        sub = "serve" if name in {"intake", "classifier", "tracker"} else name.split("-", 1)[1]
        assert service["command"][-2:] == [module, sub], name
        assert service["read_only"] is True
        assert service["env_file"] == [".env"]
        assert service["stop_grace_period"] in {"40s", "60s"}
    assert services()["bootstrap"]["command"] == ["python", "/app/deploy/docker/bootstrap.py",
                                                  "--replication-factor", "3"]
    assert services()["intake-relay"]["deploy"]["replicas"] == 2


def test_no_development_package_ships():
    text = support.COMPOSE.read_text(encoding="utf-8")
    assert not DEV_ONLY.search(text)
    dockerfile = support.DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r"pip install[^\n]*\[dev\]", dockerfile)
    assert not re.search(r"(?m)^ENV[^\n]*APP_ENV=(embedded|test)", dockerfile)
    for name in APP:
        assert env(name)["APP_ENV"] == "production"


def test_kafka_runs_kraft_on_three_nodes():
    ids, clusters = set(), set()
    for name in KAFKA:
        service = services()[name]
        assert service["image"].startswith("apache/kafka:")
        kafka_env = env(name)
        assert set(kafka_env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        voters = kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert voters == [f"{i}@kafka-{i}:9093" for i in (1, 2, 3)]
        assert kafka_env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert kafka_env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert kafka_env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert kafka_env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert not any("ZOOKEEPER" in k for k in kafka_env)
        ids.add(kafka_env["KAFKA_NODE_ID"])
        clusters.add(kafka_env["CLUSTER_ID"])
        assert service["volumes"] == [f"{name}-data:/var/lib/kafka/data"]
    assert ids == {"1", "2", "3"} and len(clusters) == 1
    bootstrap = env("intake")["KAFKA_BOOTSTRAP"]
    assert bootstrap == ",".join(f"{k}:9092" for k in KAFKA)


def test_topics_one_shot_matches_shared_topics():
    script = services()["kafka-topics"]["command"][0]
    assert "--replication-factor 3" in script and "min.insync.replicas=2" in script
    assert "--if-not-exists" in script
    created = {m[0]: int(m[1]) for m in re.findall(r"--topic (\S+) --partitions (\d+)", script)}
    assert created == TOPICS


def test_mongo_is_a_replica_set_initiated_once():
    for name in MONGO:
        command = services()[name]["command"]
        assert command[:3] == ["mongod", "--replSet", "rs0"]
        assert "--keyFile" in command
        assert f"{name}-data:/data/db" in services()[name]["volumes"]
    # only the seed member creates the root user
    assert "MONGO_INITDB_ROOT_USERNAME" in env("mongo-1")
    assert "environment" not in services()["mongo-2"]
    init = services()["mongo-init"]
    assert init["command"][-1] == "/scripts/init-replica-set.js"
    assert env("mongo-init")["RS_MEMBERS"] == ",".join(f"{m}:27017" for m in MONGO)
    mount = init["volumes"][0].split(":")[0]
    assert (support.COMPOSE.parent / mount).resolve() == \
        support.DEPLOY / "mongo" / "init-replica-set.js"
    example = (support.DEPLOY / ".env.example").read_text(encoding="utf-8")
    uri = re.search(r"^MONGO_URI=(.+)$", example, re.M).group(1)
    assert "replicaSet=rs0" in uri and all(f"{m}:27017" in uri for m in MONGO)


def test_replica_set_script_is_valid_javascript():
    assert shutil.which("node"), "node is missing: `make tools` installs it"
    subprocess.run(["node", "--check", str(support.DEPLOY / "mongo" / "init-replica-set.js")],
                   check=True, capture_output=True, timeout=60)


def test_environment_names_are_real_settings():
    known = support.known_env_vars()
    for name in (*APP, "bootstrap", "rotate-keys"):
        unknown = set(env(name)) - known
        assert not unknown, f"{name}: {sorted(unknown)}"
    text = support.COMPOSE.read_text(encoding="utf-8")
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (support.DEPLOY / ".env.example").read_text(encoding="utf-8")
    for variable in re.findall(r"^([A-Z_]+)=", example, re.M):
        assert variable in known or variable in interpolated, variable
    for variable in interpolated:
        assert re.search(rf"^{variable}=", example, re.M), f"{variable} missing in .env.example"
    for required in ("PII_KEYS", "OPEN311_API_KEYS", "STAFF_API_KEYS", "MONGO_URI"):
        assert re.search(rf"^{required}=", example, re.M)


def test_staff_users_secret_is_mounted_where_settings_look():
    secrets = compose()["secrets"]
    assert secrets["staff_users"]["file"] == "./staff-users.json"
    for name in APP:
        assert services()[name]["secrets"] == ["staff_users"]
        assert env(name)["STAFF_USERS_FILE"] == "/run/secrets/staff_users"


def test_prometheus_scrapes_every_process_with_the_shipped_rules():
    prometheus = services()["prometheus"]
    mounts = dict(v.split(":")[:2] for v in prometheus["volumes"] if v.startswith("./"))
    assert mounts["./prometheus/rules"] == "/etc/prometheus/rules"
    assert mounts["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    config = yaml.safe_load((support.DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert support.RULES.name.endswith(".yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in APP.items():
        sd = jobs[name]["dns_sd_configs"][0]
        assert sd == {"names": [name], "type": "A", "port": port}
    exporter = jobs["kafka-exporter"]["static_configs"][0]["targets"]
    assert exporter == ["kafka-exporter:9308"]


def test_grafana_is_provisioned():
    grafana = services()["grafana"]
    mounts = dict(v.split(":")[:2] for v in grafana["volumes"] if v.startswith("./"))
    assert mounts == {"./grafana/provisioning": "/etc/grafana/provisioning",
                      "./grafana/dashboards": "/var/lib/grafana/dashboards"}
    provisioning = support.DEPLOY / "grafana" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    provider = yaml.safe_load((provisioning / "dashboards" / "hotline.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert grafana["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert "GF_SECURITY_ADMIN_PASSWORD" in env("grafana")


def test_app_commands_exist_in_the_services():
    intake = (support.ROOT / "services" / "intake" / "__main__.py").read_text(encoding="utf-8")
    for sub in ("serve", "relay", "projector", "notifier", "rotate-keys"):
        assert f'"{sub}"' in intake
    classifier = (support.ROOT / "services" / "classifier" / "__main__.py").read_text()
    for sub in ("serve", "worker", "train"):
        assert f'"{sub}"' in classifier
    tracker = (support.ROOT / "services" / "tracker" / "__main__.py").read_text(encoding="utf-8")
    for sub in ("serve", "worker", "monitor"):
        assert f'"{sub}"' in tracker
