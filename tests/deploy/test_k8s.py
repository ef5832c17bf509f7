"""Kubernetes manifests: schemas, custom resources, probes, security, topics, network flows."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError

from shared.topics import REPORTS_SUBMITTED, TOPICS
from tests.deploy import support
from tests.deploy.kustomize import KustomizeError, key, render
from tests.deploy.support import OVERLAYS, by_kind, find, pod_spec, rendered

KUBERNETES_VERSION = "1.32"
CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
APP_DEPLOYMENTS = {"intake", "intake-relay", "intake-projector", "intake-notifier", "classifier",
                   "classifier-worker", "tracker", "tracker-worker", "tracker-monitor",
                   "tracker-alerts"}
WEB = {"intake": 8000, "classifier": 8001, "tracker": 8002}


def _normalise(value):
    """Lists of named items sorted by name: kustomize reorders merged lists."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normalise(v) for v in value]
        if items and all(isinstance(i, dict) and "name" in i for i in items):
            items.sort(key=lambda i: str(i["name"]))
        return items
    return value


# ------------------------------------------------------------------------------- rendering

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_renderer_matches_kubectl_kustomize(overlay):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed; the Python renderer alone is used")
    out = subprocess.run(["kubectl", "kustomize", str(OVERLAYS[overlay])], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    theirs = {key(r): _normalise(r) for r in yaml.safe_load_all(out) if r}
    mine = {key(r): _normalise(r) for r in rendered(overlay)}
    assert set(mine) == set(theirs)
    for name, resource in mine.items():
        assert resource == theirs[name], f"{overlay}: {name} differs from kubectl kustomize"


def test_renderer_refuses_unsupported_fields(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path)


def test_names_are_unique_and_valid():
    for overlay in OVERLAYS:
        names = [key(r) for r in rendered(overlay)]
        assert len(names) == len(set(names))
        for resource in rendered(overlay):
            name = resource["metadata"]["name"]
            pattern = DNS_LABEL if resource["kind"] in {"Service", "Namespace"} else DNS_SUBDOMAIN
            assert pattern.match(name) and len(name) <= 63, name
            if resource["kind"] != "Namespace":
                assert resource["metadata"]["namespace"] == "hotline-1022"


# ---------------------------------------------------------------------------- JSON schemas

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_manifest_validates_against_kubernetes_schemas(overlay):
    checked, custom = 0, set()
    for resource in rendered(overlay):
        ident = (resource["apiVersion"], resource["kind"])
        if ident in CUSTOM_KINDS:
            custom.add(ident)
            with pytest.raises(SchemaNotFoundError):
                kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
            continue
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{overlay}: {key(resource)} at {path}: {exc.message}")
        checked += 1
    assert checked >= 40
    assert custom == CUSTOM_KINDS  # and test_custom_resources_structure checks those


def test_schema_validation_catches_mistakes():
    """The validator is strict: a typo in a field name or a wrong type fails."""
    deployment = copy.deepcopy(find("base", "Deployment", "intake"))
    pod_spec(deployment)["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(find("base", "Deployment", "intake"))
    pod_spec(deployment)["terminationGracePeriodSeconds"] = "45"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


# ------------------------------------------------------------------------ custom resources

REQUIRED_SPEC = {
    "Kafka": {"kafka", "entityOperator"},
    "KafkaNodePool": {"replicas", "roles", "storage"},
    "KafkaTopic": {"partitions", "replicas"},
    "KafkaUser": {"authentication", "authorization"},
    "ServiceMonitor": {"selector", "endpoints"},
    "PodMonitor": {"selector", "podMetricsEndpoints"},
    "PrometheusRule": {"groups"},
}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_custom_resources_structure(overlay):
    for resource in rendered(overlay):
        if (resource["apiVersion"], resource["kind"]) not in CUSTOM_KINDS:
            continue
        assert set(resource) <= {"apiVersion", "kind", "metadata", "spec"}, key(resource)
        assert REQUIRED_SPEC[resource["kind"]] <= set(resource["spec"]), key(resource)
        if resource["kind"].startswith("Kafka") and resource["kind"] != "Kafka":
            assert resource["metadata"]["labels"]["strimzi.io/cluster"] == "hotline"
        if resource["apiVersion"].startswith("monitoring.coreos.com"):
            assert resource["metadata"]["labels"]["release"] == "kube-prometheus-stack"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_kafka_is_three_kraft_nodes_with_replicated_defaults(overlay):
    kafka = find(overlay, "Kafka", "hotline")
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled",
                                                "strimzi.io/kraft": "enabled"}
    assert "zookeeper" not in kafka["spec"]
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["transaction.state.log.replication.factor"] == 3
    assert config["auto.create.topics.enable"] is False
    assert config["unclean.leader.election.enable"] is False
    assert "topicOperator" in kafka["spec"]["entityOperator"]
    # one listener, TLS with SCRAM-SHA-512 for every client, and ACLs enforced
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert [(lst["port"], lst["tls"], lst["authentication"]["type"]) for lst in listeners] == [
        (9093, True, "scram-sha-512")]
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    assert "userOperator" in kafka["spec"]["entityOperator"]
    pools = by_kind(overlay, "KafkaNodePool")
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    assert controllers == 3 and brokers >= 3
    for pool in pools:
        spread = pool["spec"]["template"]["pod"]["topologySpreadConstraints"]
        assert any(c["topologyKey"] == "kubernetes.io/hostname"
                   and c["whenUnsatisfiable"] == "DoNotSchedule" for c in spread)
        assert all(v["deleteClaim"] is False for v in pool["spec"]["storage"]["volumes"])
    bootstrap = find(overlay, "ConfigMap", "hotline-config")["data"]["KAFKA_BOOTSTRAP"]
    assert bootstrap == f"{kafka['metadata']['name']}-kafka-bootstrap:9093"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_kafka_topics_match_shared_topics(overlay):
    topics = {t["spec"]["topicName"]: t for t in by_kind(overlay, "KafkaTopic")}
    assert {name: t["spec"]["partitions"] for name, t in topics.items()} == TOPICS
    for topic in topics.values():
        assert topic["spec"]["replicas"] == 3
        assert topic["spec"]["config"]["min.insync.replicas"] == 2
        assert topic["metadata"]["name"] == topic["spec"]["topicName"].replace(".", "-")


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_mongo_is_a_three_member_replica_set(overlay):
    mongo = find(overlay, "StatefulSet", "mongo")
    assert mongo["spec"]["replicas"] == 3
    assert mongo["spec"]["serviceName"] == "mongo"
    service = find(overlay, "Service", "mongo")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    script = pod_spec(mongo)["containers"][0]["command"][-1]
    assert "--replSet rs0" in script and "--keyFile" in script
    spread = pod_spec(mongo)["topologySpreadConstraints"]
    assert any(c["topologyKey"] == "kubernetes.io/hostname"
               and c["whenUnsatisfiable"] == "DoNotSchedule" for c in spread)
    job = find(overlay, "Job", "mongo-rs-init")
    env = {e["name"]: e.get("value") for e in pod_spec(job)["containers"][0]["env"]}
    assert env["RS_MEMBERS"].split(",") == [f"mongo-{i}.mongo:27017" for i in range(3)]
    # each workload of the app images logs in as its service's own user (its role: that
    # service's collections only, deploy/docker/mongo_users.py); the bootstrap as the admin
    users = set()
    for resource in rendered(overlay):
        if resource["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        for container in pod_spec(resource)["containers"]:
            if not support.is_app_image(container["image"]):
                continue
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            uri = env["MONGO_URI"]
            assert "replicaSet=rs0" in uri, resource["metadata"]["name"]
            assert all(f"mongo-{i}.mongo:27017" in uri for i in range(3))
            user = re.match(r"mongodb://(?:([^:@]+):[^@]+@)?", uri).group(1)
            image_service = container["image"].rsplit("/", 1)[1].split(":")[0]
            if user is None:  # only the bootstrap: it logs in as the user administrator
                assert resource["metadata"]["name"] == "hotline-bootstrap"
                assert {"MONGO_ROOT_USER", "MONGO_ROOT_PASSWORD"} <= set(env)
                continue
            assert user == f"hotline-{image_service}", uri
            users.add(user)
    assert users >= {"hotline-intake", "hotline-classifier", "hotline-tracker"}
    assert "MONGO_URI" not in secret(overlay, "hotline-secrets").get("stringData", {})
    assert find(overlay, "PodDisruptionBudget", "mongo")["spec"]["maxUnavailable"] == 1


def test_bootstrap_job_runs_the_deploy_bootstrap():
    job = find("base", "Job", "hotline-bootstrap")
    container = pod_spec(job)["containers"][0]
    assert container["command"] == ["python", "/app/deploy/docker/bootstrap.py",
                                    "--replication-factor", "3"]
    assert support.is_app_image(container["image"])
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    source = (support.ROOT / "deploy" / "docker" / "bootstrap.py").read_text(encoding="utf-8")
    assert '"--replication-factor"' in source


def secret(overlay, name):
    """The Secret as the overlay renders it, or the base's placeholder that documents its keys
    where the overlay leaves the Secret out (prod: created out of band)."""
    try:
        return find(overlay, "Secret", name)
    except KeyError:
        return find("base", "Secret", name)


def test_prod_never_applies_placeholder_secrets():
    assert by_kind("prod", "Secret") == []
    assert {s["metadata"]["name"] for s in by_kind("dev", "Secret")} == {
        "hotline-secrets", "hotline-staff-users", "mongo-credentials"}
    # every Secret a workload references is one of those
    for overlay in OVERLAYS:
        for resource in rendered(overlay):
            if resource["kind"] not in support.WORKLOAD_KINDS:
                continue
            spec = pod_spec(resource)
            refs = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
            for container in spec["containers"] + spec.get("initContainers", []):
                refs |= {s["secretRef"]["name"] for s in container.get("envFrom", [])
                         if "secretRef" in s}
                refs |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                         if "secretKeyRef" in e.get("valueFrom", {})}
            for name in refs - strimzi_secrets(overlay):
                assert secret(overlay, name)


def strimzi_secrets(overlay):
    """Secrets Strimzi writes itself: each KafkaUser's password, and the cluster CA."""
    users = {u["metadata"]["name"] for u in by_kind(overlay, "KafkaUser")}
    return users | {f"{k['metadata']['name']}-cluster-ca-cert" for k in by_kind(overlay, "Kafka")}


# ----------------------------------------------------------------------------- workloads

def _app_deployments(overlay):
    return {d["metadata"]["name"]: d for d in by_kind(overlay, "Deployment")}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_one_deployment_per_process_kind(overlay):
    deployments = _app_deployments(overlay)
    assert set(deployments) == APP_DEPLOYMENTS
    commands = {name: pod_spec(d)["containers"][0]["command"] for name, d in deployments.items()}
    for name, command in commands.items():
        module, sub = command[-2:]
        assert module == f"services.{name.split('-')[0]}"
        assert sub == ("serve" if name in WEB else name.split("-", 1)[1])


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_probes_point_to_paths_the_app_serves(overlay):
    for name, deployment in _app_deployments(overlay).items():
        container = pod_spec(deployment)["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        probes = {kind: container[kind] for kind in ("readinessProbe", "livenessProbe")}
        if name in WEB:
            assert ports == {"http": WEB[name]}
            assert probes["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert probes["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        else:
            assert ports == {"metrics": 9100}
            for probe in probes.values():
                assert probe["httpGet"] == {"path": "/metrics", "port": "metrics"}
    # the paths exist in the web apps (shared/web/app_base.py serves them for every service)
    app_base = (support.ROOT / "shared" / "web" / "app_base.py").read_text(encoding="utf-8")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert f'@app.get("{path}")' in app_base


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_background_processes_serve_metrics_on_their_port(overlay):
    for name, deployment in _app_deployments(overlay).items():
        if name in WEB:
            continue
        container = pod_spec(deployment)["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if container["command"][:2] == ["python", "-m"]:
            assert env["WORKER_METRICS_PORT"] == "9100", name  # the classifier worker's own
        else:
            assert container["command"][:2] == ["python", "/app/deploy/docker/run_with_metrics.py"]
            assert env["METRICS_PORT"] == "9100", name


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_containers_run_non_root_with_read_only_root_and_resources(overlay):
    for resource in rendered(overlay):
        if resource["kind"] not in support.WORKLOAD_KINDS:
            continue
        spec = pod_spec(resource)
        assert spec["securityContext"]["runAsNonRoot"] is True, key(resource)
        assert spec["securityContext"]["runAsUser"] > 0
        assert spec.get("automountServiceAccountToken") is False
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, key(resource)
            assert context["readOnlyRootFilesystem"] is True, key(resource)
            assert context["capabilities"]["drop"] == ["ALL"]
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), key(resource)
            assert {"cpu", "memory"} <= set(resources["limits"]), key(resource)
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            if support.is_app_image(container["image"]):
                assert "/tmp" in mounts  # gunicorn, prometheus multiprocess files, HOME


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_graceful_drain(overlay):
    for name, deployment in _app_deployments(overlay).items():
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        grace = spec["terminationGracePeriodSeconds"]
        if name in WEB:
            # endpoints removed during the sleep, then gunicorn's graceful timeout (25 s)
            assert sleep >= 5
            assert grace >= sleep + 25 + 5, name
        else:
            assert grace >= sleep + 20, name
        strategy = deployment["spec"]["strategy"]["rollingUpdate"]
        assert strategy["maxUnavailable"] == 0


def test_env_vars_exist_in_settings():
    known = support.known_env_vars()
    for overlay in OVERLAYS:
        configs = {(r["kind"], r["metadata"]["name"]): r for r in rendered(overlay)
                   if r["kind"] == "ConfigMap"}
        configs |= {("Secret", name): secret(overlay, name)
                    for name in ("hotline-secrets", "hotline-staff-users")}
        for resource in rendered(overlay):
            if resource["kind"] not in support.WORKLOAD_KINDS:
                continue
            for container in pod_spec(resource)["containers"]:
                if not support.is_app_image(container["image"]):
                    continue
                names = {e["name"] for e in container.get("env", [])}
                for source in container.get("envFrom", []):
                    kind, ref = ("ConfigMap", source["configMapRef"]) if "configMapRef" in source \
                        else ("Secret", source["secretRef"])
                    config = configs[(kind, ref["name"])]
                    names |= set(config.get("data", {})) | set(config.get("stringData", {}))
                unknown = names - known
                assert not unknown, f"{overlay} {key(resource)}: {sorted(unknown)} unknown"


def test_env_var_check_would_catch_a_typo():
    assert "KAFKA_BOOTSTRAP" in support.known_env_vars()
    assert "KAFKA_BOOSTRAP" not in support.known_env_vars()


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_mounted_config_matches_settings_paths(overlay):
    config = find(overlay, "ConfigMap", "hotline-config")["data"]
    for name, deployment in _app_deployments(overlay).items():
        container = pod_spec(deployment)["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert config["STAFF_USERS_FILE"].rsplit("/", 1)[0] in mounts
        if name.startswith("tracker"):
            assert mounts[config["TRACKER_CONFIG_DIR"]] == "tracker-config"
    staff = secret(overlay, "hotline-staff-users")["stringData"]
    assert config["STAFF_USERS_FILE"].rsplit("/", 1)[1] in staff


# --------------------------------------------------------------- scaling and disruptions

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_autoscalers(overlay):
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h
            for h in by_kind(overlay, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"intake", "classifier-worker"}
    metrics = hpas["intake"]["spec"]["metrics"]
    assert metrics[0]["resource"]["name"] == "cpu"
    # more consumers than partitions would idle
    assert hpas["classifier-worker"]["spec"]["maxReplicas"] <= TOPICS[REPORTS_SUBMITTED]
    if overlay != "dev":
        assert hpas["classifier-worker"]["spec"]["maxReplicas"] == TOPICS[REPORTS_SUBMITTED]
    deployments = _app_deployments(overlay)
    for name in hpas:
        # an autoscaled Deployment must not fix replicas, or every apply fights the HPA
        assert "replicas" not in deployments[name]["spec"]
        assert hpas[name]["spec"]["minReplicas"] <= hpas[name]["spec"]["maxReplicas"]


def test_replicas_per_overlay():
    def replicas(overlay):
        out = {}
        for name, deployment in _app_deployments(overlay).items():
            out[name] = deployment["spec"].get("replicas")
        for hpa in by_kind(overlay, "HorizontalPodAutoscaler"):
            out[hpa["spec"]["scaleTargetRef"]["name"]] = hpa["spec"]["minReplicas"]
        return out
    dev, base, prod = replicas("dev"), replicas("base"), replicas("prod")
    assert set(dev.values()) == {1}
    assert all(base[name] >= 2 for name in base)
    assert all(prod[name] >= base[name] for name in base)
    assert base["intake-relay"] == prod["intake-relay"] == 2  # hot standby through the lease


def test_prod_limits_are_bigger_than_dev():
    def memory(overlay, name):
        deployment = find(overlay, "Deployment", name)
        value = pod_spec(deployment)["containers"][0]["resources"]["limits"]["memory"]
        number, unit = re.match(r"(\d+)(Mi|Gi)", value).groups()
        return int(number) * (1024 if unit == "Gi" else 1)
    for name in ("intake", "classifier", "classifier-worker", "tracker"):
        assert memory("dev", name) < memory("base", name) < memory("prod", name)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_workload_has_a_disruption_budget(overlay):
    budgets = [b["spec"]["selector"]["matchLabels"]
               for b in by_kind(overlay, "PodDisruptionBudget")]
    for resource in rendered(overlay):
        if resource["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        labels = resource["spec"]["template"]["metadata"]["labels"]
        assert any(b.items() <= labels.items() for b in budgets), key(resource)
    for budget in by_kind(overlay, "PodDisruptionBudget"):
        # maxUnavailable, not minAvailable: a 1-replica dev Deployment can still be drained
        assert budget["spec"]["maxUnavailable"] == 1


# --------------------------------------------------------------------- services, ingress

@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_services_and_ingress_point_to_real_ports(overlay):
    deployments = _app_deployments(overlay)
    for name, port in WEB.items():
        service = find(overlay, "Service", name)
        assert service["spec"]["selector"].items() <= \
            deployments[name]["spec"]["template"]["metadata"]["labels"].items()
        assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http",
                                             "protocol": "TCP"}]
    hosts = {}
    for ingress in by_kind(overlay, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            hosts[ingress["metadata"]["name"]] = rule["host"]
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in {"intake", "tracker"}
                assert backend["port"] == {"name": "http"}
                assert path["path"] != "/" and not path["path"].startswith("/metrics")
        assert {h for t in ingress["spec"]["tls"] for h in t["hosts"]} == \
            {r["host"] for r in ingress["spec"]["rules"]}
    assert set(hosts) == {"intake-public", "tracker-staff"}
    expected = {"base": "hotline1022.example.org", "dev": "dev.hotline1022.example.org",
                "prod": "1022.example.gov.vn"}[overlay]
    assert all(host.endswith(expected) for host in hosts.values())
    public = find(overlay, "ConfigMap", "hotline-config")["data"]["PUBLIC_BASE_URL"]
    assert public == f"https://{hosts['intake-public']}"


# ---------------------------------------------------------------------- network policies

def _selects(policy, labels):
    selector = policy["spec"]["podSelector"]
    return selector.get("matchLabels", {}).items() <= labels.items()


def _allows(policy, direction, port):
    rules = policy["spec"].get("ingress" if direction == "Ingress" else "egress", [])
    return direction in policy["spec"]["policyTypes"] and any(
        not rule.get("ports") or any(p["port"] == port for p in rule["ports"]) for rule in rules)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_network_policies_default_deny_and_cover_every_workload(overlay):
    policies = by_kind(overlay, "NetworkPolicy")
    deny = find(overlay, "NetworkPolicy", "default-deny-all")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    specific = [p for p in policies if p["spec"]["podSelector"]]
    for resource in rendered(overlay):
        if resource["kind"] not in support.WORKLOAD_KINDS:
            continue
        labels = support.pod_template(resource)["metadata"]["labels"]
        mine = [p for p in specific if _selects(p, labels)]
        assert mine, f"{key(resource)}: no NetworkPolicy beyond the default deny"
        everyone = [p for p in policies if not p["spec"]["podSelector"]]
        assert any(_allows(p, "Egress", 53) for p in everyone)  # DNS for all
    # the flows of the design
    def allowed(name, direction, port):
        labels = find(overlay, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        return any(_allows(p, direction, port) for p in specific if _selects(p, labels))
    for name in APP_DEPLOYMENTS:
        assert allowed(name, "Egress", 9093) and allowed(name, "Egress", 27017), name
        port = WEB.get(name, 9100)
        assert allowed(name, "Ingress", port), name
    assert allowed("intake-relay", "Egress", 8002)  # intake's processes call TRACKER_URL
    assert not allowed("classifier-worker", "Egress", 8002)
    mongo_labels = find(overlay, "StatefulSet", "mongo")["spec"]["template"]["metadata"]["labels"]
    assert any(_allows(p, "Ingress", 27017) for p in specific if _selects(p, mongo_labels))


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_retrain_cronjob_runs_retrain_alone_and_reaches_the_store(overlay):
    job = find(overlay, "CronJob", "classifier-retrain")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    container = pod_spec(job)["containers"][0]
    assert container["command"] == ["python", "-m", "services.classifier", "retrain"]
    assert "hotline1022/classifier:" in container["image"]
    labels = support.pod_template(job)["metadata"]["labels"]
    specific = [p for p in by_kind(overlay, "NetworkPolicy") if p["spec"]["podSelector"]]
    mine = [p for p in specific if _selects(p, labels)]
    assert any(_allows(p, "Egress", 27017) for p in mine)
    assert not any(_allows(p, "Egress", 9092) for p in mine)  # the store only
    from services.classifier.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["retrain", "--help"])
    assert done.value.code == 0


# -------------------------------------------------------------------------- generated files

def test_generated_manifests_are_fresh():
    generate = _load_generate()
    assert generate.stale() == [], "run: python deploy/generate.py"
    rule = yaml.safe_load((support.K8S / "base" / "generated" / "prometheusrule.yaml").read_text())
    assert rule["spec"] == {"groups": support.rules()["groups"]}
    tracker = find("base", "ConfigMap", "tracker-config")["data"]
    assert set(tracker) == set(generate.tracker_config_files())
    assert "routing.json" in tracker and not any(n.endswith(".demo.json") for n in tracker)


def _load_generate():
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_generate",
                                                  support.DEPLOY / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probes_tell_the_truth_about_a_store_outage():
    """Readiness leaves the load balancer within seconds of a store outage; liveness asks
    nothing of the store, so a process waiting for it is not killed (issue 16)."""
    for overlay, name in ((o, n) for o in OVERLAYS for n in WEB):
        deployment = find(overlay, "Deployment", name)
        container = pod_spec(deployment)["containers"][0]
        ready, live = container["readinessProbe"], container["livenessProbe"]
        assert ready["httpGet"]["path"] == "/readyz"
        assert ready["periodSeconds"] * ready["failureThreshold"] <= 5
        assert ready["timeoutSeconds"] >= 1
        assert live["httpGet"]["path"] == "/healthz"
