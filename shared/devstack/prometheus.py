"""A real Prometheus (Debian's `prometheus` package) for `make run`: it scrapes every process
the devstack starts and evaluates the shipped alert rules, so the alerts can be seen locally.

deploy/prometheus/prometheus.yml finds Compose replicas by DNS; the devstack's processes all
run on 127.0.0.1 on the ports it chose, so its scrape config is generated from that list. The
job names are the process names, as in Compose and Kubernetes, so the rules read the same
series. Under the devstack a background process (relay, projector, workers, monitor) reports
on its service's /metrics (one PROMETHEUS_MULTIPROC_DIR per service): its job scrapes that
endpoint for `up` only and drops the samples, which the service's own job already collects.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from shared.devstack.processes import ManagedProcess, port_open, wait_for_port

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
INTERVAL = "5s"


def scrape_config(jobs: dict[str, tuple[str, bool]], *, rules_dir: Path = RULES_DIR,
                  self_target: str | None = None) -> dict[str, object]:
    """The Prometheus configuration for jobs {name: (host:port, samples kept)}."""
    scrape: list[dict[str, object]] = []
    for name, (target, keep) in jobs.items():
        job: dict[str, object] = {"job_name": name, "static_configs": [{"targets": [target]}]}
        if not keep:
            job["metric_relabel_configs"] = [
                {"source_labels": ["__name__"], "regex": ".+", "action": "drop"}]
        scrape.append(job)
    if self_target:
        scrape.append({"job_name": "prometheus", "static_configs": [{"targets": [self_target]}]})
    return {
        "global": {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL,
                   "external_labels": {"system": "hotline-1022-dev"}},
        "rule_files": [str(rules_dir / "*.yml")],
        "scrape_configs": scrape,
    }


class Prometheus(ManagedProcess):
    """Prometheus with its configuration and data under the run directory."""

    def __init__(self, port: int, *, workdir: Path, jobs: dict[str, tuple[str, bool]],
                 host: str = "127.0.0.1", binary: str = "prometheus") -> None:
        self.host, self.port = host, port
        self.config_path = workdir / "prometheus.yml"
        # JSON is YAML: no YAML writer needed
        self.config_path.write_text(json.dumps(
            scrape_config(jobs, self_target=f"{host}:{port}"), indent=2), encoding="utf-8")
        super().__init__(
            "prometheus",
            [binary, f"--config.file={self.config_path}",
             f"--storage.tsdb.path={workdir / 'prometheus-data'}",
             f"--web.listen-address={host}:{port}", "--storage.tsdb.retention.time=7d"],
            log_path=workdir / "prometheus.log",
        )

    @staticmethod
    def installed(binary: str = "prometheus") -> bool:
        return shutil.which(binary) is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if port_open(self.host, self.port):
            raise RuntimeError(f"port {self.port} is taken (another Prometheus?): "
                               "set PROMETHEUS_PORT")
        super().start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_for_port(self.host, self.port, timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or not self.running:
                    raise RuntimeError(f"prometheus not ready:\n{self.tail()}") from None
                time.sleep(0.2)


def devstack_jobs(processes: list, *, host: str,
                  ports: dict[str, int]) -> dict[str, tuple[str, bool]]:
    """Scrape jobs for the devstack's processes (objects with name, module, port_setting):
    a web process on its own port, a background one on its service's web port for `up`."""
    web = {p.module: ports[p.port_setting] for p in processes if p.port_setting}
    jobs: dict[str, tuple[str, bool]] = {}
    for proc in processes:
        port = ports[proc.port_setting] if proc.port_setting else web.get(proc.module)
        if port:
            jobs[proc.name] = (f"{host}:{port}", bool(proc.port_setting))
    return jobs
