"""Start the embedded broker and store, every service that exists, seed demo data, print the
URLs, restart any child that exits, and stop everything on Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shared.devstack.mailcatcher import MailCatcher
from shared.devstack.processes import (
    Broker,
    ManagedProcess,
    Store,
    Supervisor,
    wait_for_port,
)
from shared.devstack.prometheus import Prometheus, devstack_jobs
from shared.settings import REPO_ROOT, Settings

DEFAULT_RUN_DIR = REPO_ROOT / ".run"
DEMO_REPORTS = Path(__file__).with_name("demo_reports.jsonl")


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    module: str
    command: str
    port_setting: str | None = None


PROCESSES = (
    ServiceProcess("intake", "services.intake", "serve", "intake_port"),
    ServiceProcess("intake-relay", "services.intake", "relay"),
    ServiceProcess("intake-projector", "services.intake", "projector"),
    ServiceProcess("intake-notifier", "services.intake", "notifier"),
    ServiceProcess("classifier", "services.classifier", "serve", "classifier_port"),
    ServiceProcess("classifier-worker", "services.classifier", "worker"),
    ServiceProcess("tracker", "services.tracker", "serve", "tracker_port"),
    ServiceProcess("tracker-worker", "services.tracker", "worker"),
    ServiceProcess("tracker-monitor", "services.tracker", "monitor"),
    ServiceProcess("tracker-alerts", "services.tracker", "alerts"),
)


def init_databases(env: dict[str, str], *, modules: list[str] | None = None) -> None:
    """Each service's `init-db` (its indexes), once, before any of its processes starts. Run
    as commands: shared/ knows the services by module name only."""
    for module in modules or dict.fromkeys(p.module for p in PROCESSES if available(p)):
        subprocess.run([sys.executable, "-m", module, "init-db"], cwd=REPO_ROOT, env=env,
                       check=True, timeout=120)


def available(proc: ServiceProcess) -> bool:
    try:
        return importlib.util.find_spec(f"{proc.module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def seed_demo(base_url: str) -> list[str]:
    codes = []
    for i, line in enumerate(DEMO_REPORTS.read_text(encoding="utf-8").splitlines()):
        body = json.dumps(json.loads(line)).encode()
        req = urllib.request.Request(  # noqa: S310 - a local http URL
            f"{base_url}/api/v1/reports", data=body, method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": f"demo-{i}",
                     "X-API-Key": "demo-operator"})
        codes.append(_post_waiting_out_the_limit(req)["tracking_code"])
    return codes


def _post_waiting_out_the_limit(req: urllib.request.Request) -> dict:
    """POST; a 429 (RATE_LIMIT_PER_MINUTE set below the demo's size) waits its Retry-After."""
    for _ in range(5):
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local URL
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                raise
            wait = int(exc.headers.get("Retry-After", "60"))
            print(f"  demo data: rate limit reached, waiting {wait} s", flush=True)
            time.sleep(wait)
    raise RuntimeError("the demo data could not be loaded within the rate limit")


def demo_logins(settings: Settings) -> list[tuple[str, str, str]]:
    """(user, role, password) of the demo staff directory; none with STAFF_USERS_FILE set."""
    if settings.staff_users_file is not None:
        return []
    rows = json.loads((settings.tracker_config_dir / "staff.demo.json").read_text("utf-8"))
    return [(r["user"], r["role"] + (f" {r['department']}" if r.get("department") else ""),
             r["password"]) for r in rows if r.get("password")]


def print_pages(urls: dict[str, str], settings: Settings) -> None:
    if "intake" in urls:
        print(f"  residents   {urls['intake']}/   (report form; follow a report at "
              f"{urls['intake']}/track)")
    if "tracker" in urls:
        print(f"  staff       {urls['tracker']}/staff/login   (operator console, handler "
              "queue, supervisor dashboard; ?lang=en for English)")
        logins = demo_logins(settings)
        if logins:
            print("  demo logins (user, role, password):")
            for user, role, password in logins:
                print(f"    {user:<20} {role:<34} {password}")


def start_prometheus(run_dir: Path, settings: Settings, launched: list[ServiceProcess],
                     started: list[ManagedProcess]) -> Prometheus | None:
    """Prometheus scraping every launched process with the shipped rules (when installed)."""
    if not Prometheus.installed():
        print("  (prometheus: not installed; `make tools` installs Debian's package)")
        return None
    ports = {p.port_setting: getattr(settings, p.port_setting) for p in launched
             if p.port_setting}
    prometheus = Prometheus(int(os.environ.get("PROMETHEUS_PORT", "9099")), workdir=run_dir,
                            jobs=devstack_jobs(launched, host=settings.host, ports=ports))
    prometheus.start()
    started.append(prometheus)
    prometheus.wait_ready()
    return prometheus


def start_mail_catcher(run_dir: Path) -> MailCatcher | None:
    """The local SMTP server the notifier sends to, unless SMTP_HOST names a real one."""
    if os.environ.get("SMTP_HOST"):
        return None
    return MailCatcher(run_dir / "mail", port=int(os.environ.get("SMTP_PORT", "0") or 0),
                       on_message=lambda path: print(f"  mail: {path}", flush=True)).start()


def main() -> int:
    broker_port = int(os.environ.get("BROKER_PORT", "9092"))
    store_port = int(os.environ.get("STORE_PORT", "27017"))
    run_dir = Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR))
    run_dir.mkdir(parents=True, exist_ok=True)
    broker = Broker(broker_port, workdir=run_dir)
    store = Store(store_port, workdir=run_dir)
    mail = start_mail_catcher(run_dir)
    env = dict(os.environ, KAFKA_BOOTSTRAP=broker.bootstrap, MONGO_URI=store.uri,
               **(mail.env() if mail else {}))
    settings = Settings.from_env(env)
    started: list[ManagedProcess] = []
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nStopping…", flush=True)
        for proc in reversed(started):
            proc.stop()
        print("Everything stopped.", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # Ctrl-C stops everything even when the launcher was started with SIGINT ignored, as a
    # non-interactive shell starts its background jobs (Python then installs no handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for part in (store, broker):
            part.start()
            started.append(part)
        for part in (store, broker):
            part.wait_ready()
        from shared.kafka import ensure_topics

        ensure_topics(settings)
        init_databases(env)
        urls = {}
        launched = []
        for proc in PROCESSES:
            if not available(proc):
                print(f"  ({proc.name}: not built yet, skipped)")
                continue
            # one metrics folder per service: its web workers and its background process
            # report together on the service's /metrics
            metrics_dir = run_dir / "prometheus" / proc.module.rsplit(".", 1)[-1]
            metrics_dir.mkdir(parents=True, exist_ok=True)
            svc = ManagedProcess(proc.name, [sys.executable, "-m", proc.module, proc.command],
                                 log_path=run_dir / f"{proc.name}.log", cwd=REPO_ROOT,
                                 env={**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
            svc.start()
            started.append(svc)
            launched.append(proc)
            if proc.port_setting:
                port = getattr(settings, proc.port_setting)
                wait_for_port(settings.host, port, 30)
                urls[proc.name] = f"http://{settings.host}:{port}"
        prometheus = start_prometheus(run_dir, settings, launched, started)
        codes = seed_demo(urls["intake"]) if "intake" in urls else []
        print("\n1022 is running. Open:")
        for name, url in urls.items():
            print(f"  {name:<11} {url}   (API description: {url}/openapi.json)")
        if "intake" in urls:
            print(f"  Open311     {urls['intake']}/open311/v2/services.json")
        print(f"  broker      {broker.bootstrap} (Kafka protocol)")
        print(f"  store       {store.uri}")
        if mail:
            print(f"  mail        smtp://{mail.host}:{mail.port}, every message citizens "
                  f"would receive is saved in {mail.folder}/")
        if prometheus:
            print(f"  prometheus  {prometheus.url}   (alerts: {prometheus.url}/alerts, "
                  f"targets: {prometheus.url}/targets)")
        if codes:
            print(f"  demo reports: {', '.join(codes)}")
        if "tracker" in urls:
            print("  staff tokens (Authorization: Bearer …): demo-operator, demo-supervisor, "
                  "demo-admin, demo-handler-<department> (see services/tracker/config/"
                  "staff.demo.json)")
        print_pages(urls, settings)
        print(f"Logs in {run_dir}/. Press Ctrl-C to stop everything.", flush=True)
        # a child that exits (a crash, kill -9) is started again; only Ctrl-C or SIGTERM
        # stops the stack
        supervisor = Supervisor(started)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, TimeoutError, urllib.error.URLError) as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all()
        if mail:
            mail.stop()
