"""The pipeline of two code trees side by side in one run (issue 17: before and after the
shared consumer loop and outbox publisher).

    python -m bench.pipeline_compare --old ../other-checkout [--new .] [--rounds 3]

Each tree is a checkout with its own .venv and trained model (`make install model` in it).
Its own processes run, from its own virtualenv (`python -m services.<service> <command>`):
intake under gunicorn, the outbox relay, the classifier worker and the tracker worker, on a
fresh embedded broker and store per round. This driver only speaks the wire protocols (HTTP
to intake, Kafka and MongoDB reads), so nothing of it depends on either tree's internals.
Rounds alternate old and new in ABBA order (old, new, new, old, ...), so a drift of the
machine's load falls on both sides alike.

Figures of one round, in this order:
  1. intake accepted/s: CLIENTS keep-alive clients POST REPORTS reports to /api/v1/reports
     (relay stopped, rate limiter off in both), texts of the classifier's validation corpus;
  2. relay: started on that backlog; records/s from the reports.submitted records' timestamps
     (from the end of the first batch to the last record: start-up is not counted; every
     loop's batch is BATCH in both trees);
  3. classifier consumer: the worker started on the published backlog; records/s from the
     reports.classified timestamps; beside it the tree's bare model (`predict` on the same
     texts, batches of 500, in a process of its own) to tell the loop's cost from the model's;
  4. tracker consumer: the worker started on the classified backlog; tickets/s from the first
     ticket in the store to the last (count polled every 50 ms);
  5. end to end, all four running: E2E_REPORTS reports at E2E_RATE/s; latency from intake's
     201 to the ticket in the store (polled every 20 ms).
Each phase also records the CPU seconds its process used, per report.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kafka import TopicPartition
from pymongo import MongoClient

from bench.cpu import cpu_seconds
from bench.http_load import KeepAliveClient, build_request
from services.classifier.corpus import load_split
from shared.devstack import EmbeddedStack, free_port, wait_for_port
from shared.kafka import ensure_topics, make_consumer
from shared.settings import REPO_ROOT, Settings
from shared.topics import REPORTS_CLASSIFIED, REPORTS_SUBMITTED

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
REPORTS = int(os.environ.get("BENCH_REPORTS", "4000"))
BATCH = 500  # every loop's batch, set explicitly in both trees (their default)
PROFILE = os.environ.get("BENCH_PROFILE", "")  # e.g. "tracker": that process under cProfile
E2E_REPORTS = int(os.environ.get("BENCH_E2E_REPORTS", "40"))
E2E_RATE = float(os.environ.get("BENCH_E2E_RATE", "4"))
DB = "bench"
TEXTS = [e.text for e in load_split("validation") if 10 <= len(e.text) <= 2000]
PREDICT = """
import json, sys, time
from services.classifier.train import load
from shared.settings import Settings
model = load(Settings.from_env().classifier_model_path)
texts = json.load(open(sys.argv[1]))
model.predict(texts[:50])
best = 0.0
for _ in range(3):
    t0 = time.process_time()
    for i in range(0, len(texts), 500):
        model.predict(texts[i:i + 500])
    best = max(best, len(texts) / (time.process_time() - t0))
print(best)
"""


@dataclass
class Tree:
    label: str
    root: Path

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    def has_command(self, service: str, command: str) -> bool:
        return f'"{command}"' in (self.root / "services" / service / "__main__.py").read_text()


@dataclass
class Round:
    label: str
    figures: dict[str, float] = field(default_factory=dict)


class Processes:
    """One tree's service processes on one stack; SIGTERM on the way out."""

    def __init__(self, tree: Tree, env: dict[str, str], logs: Path) -> None:
        self.tree, self.env, self.logs = tree, env, logs
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, service: str, command: str) -> None:
        subprocess.run([self.tree.python, "-m", f"services.{service}", command], env=self.env,
                       cwd=self.tree.root, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def start(self, name: str, service: str, command: str) -> int:
        log = open(self.logs / f"{self.tree.label}-{name}.log", "a")  # noqa: SIM115
        profile = []
        if name == PROFILE:
            out = self.logs / f"{self.tree.label}-{name}-{uuid.uuid4().hex[:4]}.prof"
            profile = ["-m", "cProfile", "-o", str(out)]
        self.procs[name] = subprocess.Popen(
            [self.tree.python, *profile, "-m", f"services.{service}", command], env=self.env,
            cwd=self.tree.root, stdout=subprocess.DEVNULL, stderr=log)
        return self.procs[name].pid

    def cpu(self, name: str) -> float:
        return cpu_seconds(self.procs[name].pid)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def body(i: int) -> bytes:
    return json.dumps({"channel": "app", "description": TEXTS[i % len(TEXTS)],
                       "reporter": {"name": "Nguyễn Văn An", "phone": "0901234567"}}).encode()


def intake_load(port: int) -> float:
    """Seconds CLIENTS keep-alive clients take to have REPORTS reports accepted."""
    share = [REPORTS // CLIENTS + (1 if n < REPORTS % CLIENTS else 0) for n in range(CLIENTS)]

    def client(n: int) -> None:
        # each client cycles through its own prebuilt requests: varied texts, no JSON work
        requests = [build_request("POST", "/api/v1/reports", host=f"127.0.0.1:{port}",
                                  body=body(n + CLIENTS * k)) for k in range(16)]
        callers = [KeepAliveClient("127.0.0.1", port, r) for r in requests]
        for k in range(share[n]):
            status = callers[k % len(callers)].call()
            if status != 201:
                raise RuntimeError(f"intake answered {status}")
        for c in callers:
            c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


class CpuTrace:
    """A process's CPU seconds sampled every 20 ms, to read what it used between two
    instants (a phase's first output and its last: model load and group join left out)."""

    def __init__(self, procs: Processes, name: str) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        pid = procs.procs[name].pid
        self._thread = threading.Thread(target=self._sample, args=(pid,), daemon=True)
        self._thread.start()

    def _sample(self, pid: int) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), cpu_seconds(pid)))
            time.sleep(0.02)

    def between(self, t0: float, t1: float) -> float:
        self._stop.set()
        self._thread.join(5)
        before = [c for t, c in self.samples if t <= t0] or [self.samples[0][1]]
        after = [c for t, c in self.samples if t >= t1] or [self.samples[-1][1]]
        return after[0] - before[-1]


class TopicClock:
    """Reads a topic from the start in a thread: the timestamps of its records."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.stamps: list[int] = []
        self._stop = threading.Event()
        self._consumer = make_consumer(settings, group_id=f"bench-{uuid.uuid4().hex[:8]}")
        partitions = [TopicPartition(topic, p)
                      for p in sorted(self._consumer.partitions_for_topic(topic) or ())]
        self._consumer.assign(partitions)
        self._consumer.seek_to_beginning(*partitions)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            for part in self._consumer.poll(timeout_ms=200).values():
                self.stamps.extend(r.timestamp for r in part)

    def wait_for(self, count: int, timeout: float, cpu: CpuTrace) -> tuple[float, float]:
        """Records per second from the end of the first batch to the last record (the first
        batch's work, done before any record could show it, is left out), and the producing
        process's CPU ms per record over the same span."""
        deadline = time.monotonic() + timeout
        while len(self.stamps) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        if len(self.stamps) < count:
            raise RuntimeError(f"only {len(self.stamps)} of {count} records arrived")
        stamps = sorted(self.stamps[:count])
        first, last = stamps[BATCH - 1] / 1000, stamps[-1] / 1000
        later = count - BATCH
        return later / max(last - first, 1e-3), 1000 * cpu.between(first, last) / later


def tickets_rate(db, count: int, timeout: float, cpu: CpuTrace) -> tuple[float, float]:
    """Tickets per second from the first ticket seen in the store to the last (the first
    batch not counted: it was stored before the clock started), and the worker's CPU ms per
    ticket over the same span."""
    deadline = time.monotonic() + timeout
    first: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        seen = db.tickets.count_documents({})
        now = time.time()
        if seen and first is None:
            first = (now, seen)
        if seen >= count:
            assert first is not None
            later = max(seen - first[1], 1)
            return (later / max(now - first[0], 1e-3),
                    1000 * cpu.between(first[0], now) / later)
        time.sleep(0.05)
    raise RuntimeError(f"only {db.tickets.count_documents({})} of {count} tickets")


def end_to_end(port: int, db) -> list[float]:
    """Seconds from intake's 201 to the ticket in the store, one report every 1/E2E_RATE s."""
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() or len(arrived) < len(sent):
            pending = [rid for rid in sent if rid not in arrived]
            if pending:
                found = db.tickets.find({"_id": {"$in": pending}}, {"_id": 1})
                now = time.perf_counter()
                for doc in found:
                    arrived[doc["_id"]] = now
            if done.is_set() and time.perf_counter() - last[0] > 60:
                return
            time.sleep(0.02)

    last = [time.perf_counter()]
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    for i in range(E2E_REPORTS):
        due = start + i / E2E_RATE
        time.sleep(max(0.0, due - time.perf_counter()))
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/reports",
                                         data=body(7919 * i), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            rid = json.loads(answer.read())["report_id"]
        sent[rid] = last[0] = time.perf_counter()
    done.set()
    watcher.join(90)
    if len(arrived) < len(sent):
        raise RuntimeError(f"only {len(arrived)} of {len(sent)} reports became tickets")
    return [arrived[r] - sent[r] for r in sent]


def bare_model_rate(tree: Tree, env: dict[str, str], texts_file: Path) -> float:
    out = subprocess.run([tree.python, "-c", PREDICT, str(texts_file)], env=env,
                         cwd=tree.root, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def one_round(tree: Tree, workdir: Path, texts_file: Path) -> Round:
    result = Round(tree.label)
    fig = result.figures
    stackdir = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{tree.label}-"))
    with EmbeddedStack(stackdir) as stack:
        port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MONGO_DB")}
        batch = str(BATCH)
        env.update(stack.env(), INTAKE_PORT=str(port), MONGO_DB=DB, WEB_CONCURRENCY="2",
                   # the limiter off: the old tree's (issue 14's first version, one store
                   # write per hit) was replaced after it, not by issue 17
                   RATE_LIMIT_PER_MINUTE="0",
                   RELAY_BATCH_SIZE=batch, CLASSIFIER_BATCH_SIZE=batch,
                   CONSUMER_BATCH_SIZE=batch,
                   PROMETHEUS_MULTIPROC_DIR=str(stackdir / "prom"), LOG_LEVEL="warning",
                   # nothing confirms reports downstream here (no projector): no republishing
                   RELAY_GRACE_SECONDS="3600")
        (stackdir / "prom").mkdir()
        settings = Settings.from_env({"APP_ENV": "test", **stack.env()})
        procs = Processes(tree, env, workdir)
        client = MongoClient(stack.store.uri, tz_aware=True)
        db = client[DB]
        try:
            for service in ("intake", "classifier", "tracker"):
                if tree.has_command(service, "init-db"):
                    procs.run(service, "init-db")
            procs.start("intake", "intake", "serve")
            wait_for_port("127.0.0.1", port, 60)
            with urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/reports", data=body(0), method="POST",
                    headers={"Content-Type": "application/json"}), timeout=30):
                pass  # warm-up: workers, indexes, tracking codes
            cpu0 = procs.cpu("intake")
            seconds = intake_load(port)
            fig["intake accepted/s"] = REPORTS / seconds
            fig["intake CPU ms/report"] = 1000 * (procs.cpu("intake") - cpu0) / REPORTS
            backlog = REPORTS + 1

            ensure_topics(settings)
            submitted = TopicClock(settings, REPORTS_SUBMITTED)
            procs.start("relay", "intake", "relay")
            fig["relay published/s"], fig["relay CPU ms/report"] = submitted.wait_for(
                backlog, 300, CpuTrace(procs, "relay"))

            classified = TopicClock(settings, REPORTS_CLASSIFIED)
            procs.start("classifier", "classifier", "worker")
            (fig["classifier consumer reports/s"],
             fig["classifier CPU ms/report"]) = classified.wait_for(
                backlog, 900, CpuTrace(procs, "classifier"))
            fig["bare model CPU ms/report"] = 1000 / bare_model_rate(tree, env, texts_file)

            procs.start("tracker", "tracker", "worker")
            (fig["tracker consumer tickets/s"],
             fig["tracker CPU ms/ticket"]) = tickets_rate(db, backlog, 900,
                                                          CpuTrace(procs, "tracker"))

            latencies = end_to_end(port, db)
            fig["e2e report->ticket p50 s"] = statistics.median(latencies)
            fig["e2e report->ticket p95 s"] = statistics.quantiles(latencies, n=20)[18]
        finally:
            procs.stop()
            client.close()
    return result


def abba(rounds: int) -> list[str]:
    order: list[str] = []
    for i in range(rounds):
        order += ["old", "new"] if i % 2 == 0 else ["new", "old"]
    return order


def summary(rounds: list[Round]) -> str:
    names = list(rounds[0].figures)
    lines = ["| figure | old median (min-max) | new median (min-max) | new/old |",
             "|---|---:|---:|---:|"]
    for name in names:
        cells = []
        medians = []
        for label in ("old", "new"):
            values = [r.figures[name] for r in rounds if r.label == label and name in r.figures]
            if not values:
                medians.append(0.0)
                cells.append("-")
                continue
            medians.append(statistics.median(values))
            cells.append(f"{medians[-1]:,.3g} ({min(values):,.3g}-{max(values):,.3g})")
        ratio = f"{medians[1] / medians[0]:.2f}" if medians[0] and medians[1] else "-"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=REPO_ROOT)
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    args = parser.parse_args()
    trees = {"old": Tree("old", args.old.resolve()), "new": Tree("new", args.new.resolve())}
    for tree in trees.values():
        if not Path(tree.python).exists():
            parser.error(f"{tree.root}: no .venv (run `make install model` there)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    texts_file = workdir / "texts.json"
    texts_file.write_text(json.dumps(TEXTS[:2000], ensure_ascii=False))
    done: list[Round] = []
    for label in abba(args.rounds):
        started = time.perf_counter()
        try:
            done.append(one_round(trees[label], workdir, texts_file))
        except RuntimeError as exc:  # a round starved by the machine: say so, go on
            print(f"{label}: round failed: {exc}", flush=True)
            continue
        print(f"{label} ({time.perf_counter() - started:.0f} s): "
              + json.dumps({k: round(v, 4) for k, v in done[-1].figures.items()},
                           ensure_ascii=False), flush=True)
    if not done:
        return 1
    print(f"\n{args.rounds} rounds per tree, ABBA order; old = {trees['old'].root}, "
          f"new = {trees['new'].root}; logs in {workdir}")
    print(summary(done))
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "pipeline_compare.json").write_text(json.dumps(
        [{"tree": r.label, **r.figures} for r in done], indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
