"""Classifier speed: batch throughput and single-report latency through the whole pipeline,
beside the bare model on already-vectorised input (the ceiling), in one run, one core.

Rates are given per wall-clock second and per CPU second of this process (one thread: the
CPU time is one core's): on a shared machine the second is what one core would do. With
BENCH_BASELINE_MODEL=path the previous model's pipeline runs in the same rounds, interleaved,
so the ratio between the two does not depend on what else the machine is doing."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from services.classifier.corpus import load_split
from services.classifier.text import views
from services.classifier.train import load
from shared.devstack import free_port, wait_for_port
from shared.settings import REPO_ROOT, Settings

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def best_rates(fns: list, n: int) -> list[tuple[float, float]]:
    """Best (wall, CPU) rate of each function over ROUNDS rounds, the functions interleaved."""
    best = [(0.0, 0.0)] * len(fns)
    for _ in range(ROUNDS):
        for i, fn in enumerate(fns):
            wall, cpu = timed(fn)
            best[i] = (max(best[i][0], n / wall), max(best[i][1], n / max(cpu, 1e-9)))
    return best


def best_rate(fn, n: int) -> float:
    return best_rates([fn], n)[0][0]


def http_latencies(texts: list[str]) -> list[float]:
    """POST /api/v1/classify one report at a time to the service under gunicorn."""
    port = free_port()
    env = {**os.environ, "CLASSIFIER_PORT": str(port), "WEB_CONCURRENCY": "1",
           "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-cls-"),
           "LOG_LEVEL": "warning"}
    server = subprocess.Popen([sys.executable, "-m", "services.classifier", "serve"],
                              cwd=REPO_ROOT, env=env)
    try:
        wait_for_port("127.0.0.1", port, 60)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out = []
        for text in texts:
            body = json.dumps({"text": text}).encode()
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/classify", body=body,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            out.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                raise RuntimeError(f"classify answered {resp.status}")
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        return out[20:]  # the first requests warm the worker up
    finally:
        server.terminate()
        server.wait(30)


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    classifier = load(Settings.from_env().classifier_model_path)
    texts = [r.text for r in load_split("validation") + load_split("train")][:2000]
    matrix = classifier.vectorize(texts)

    baseline_path = os.environ.get("BENCH_BASELINE_MODEL")
    baseline = load(Path(baseline_path)) if baseline_path else None
    runs = [lambda: classifier.predict(texts)]
    if baseline is not None:
        runs.append(lambda: baseline.predict(texts))
    measured = best_rates(runs, len(texts))
    (pipeline, pipeline_cpu) = measured[0]
    vectorize, vectorize_cpu = best_rates([lambda: classifier.vectorize(texts)], len(texts))[0]
    flat = [views(t).folded for t in texts]
    after, after_cpu = best_rates([lambda: classifier.predict_vectors(matrix, texts, flat)],
                                  len(texts))[0]
    heads, heads_cpu = best_rates([lambda: (classifier.category_head.predict_proba(matrix),
                                            classifier.second_opinion_proba(matrix),
                                            classifier.urgency_head.predict_proba(matrix))],
                                  len(texts))[0]
    single = []
    for text in texts[:1000]:
        t0 = time.perf_counter()
        classifier.predict([text])
        single.append((time.perf_counter() - t0) * 1000)
    p99 = statistics.quantiles(single, n=100)[98]
    web = http_latencies(texts[:1020])
    web_p99 = statistics.quantiles(web, n=100)[98]
    rows = [
        ("whole pipeline, batch of 2,000 (reports/s wall / per CPU second)",
         f"{pipeline:,.0f} / {pipeline_cpu:,.0f}"),
        ("text views + TF-IDF only", f"{vectorize:,.0f} / {vectorize_cpu:,.0f}"),
        ("everything after TF-IDF (heads, danger cues, district, triage rules)",
         f"{after:,.0f} / {after_cpu:,.0f}"),
        ("bare model heads on vectorised input (the ceiling)",
         f"{heads:,.0f} / {heads_cpu:,.0f}"),
        ("pipeline / ceiling (CPU)", f"{pipeline_cpu / heads_cpu:.3f}"),
        ("single report p50 / p99 (ms)", f"{statistics.median(single):.2f} / {p99:.2f}"),
        ("POST /api/v1/classify under gunicorn, p50 / p99 (ms)",
         f"{statistics.median(web):.2f} / {web_p99:.2f}"),
        ("target", "≥ 1,000 reports/s per core; p99 < 20 ms"),
    ]
    if baseline is not None:
        old, old_cpu = measured[1]
        rows.insert(1, (f"previous model {baseline.version}, same rounds (wall / CPU)",
                        f"{old:,.0f} / {old_cpu:,.0f}; new/old {pipeline_cpu / old_cpu:.2f}"))
    print(f"\nclassifier benchmark, model {classifier.version}, best of {ROUNDS}, one process")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "classifier.json").write_text(json.dumps({
        "pipeline_per_s": pipeline, "pipeline_per_cpu_s": pipeline_cpu,
        "vectorize_per_s": vectorize, "bare_per_s": heads, "bare_per_cpu_s": heads_cpu,
        "single_p50_ms": statistics.median(single), "single_p99_ms": p99,
        "http_p50_ms": statistics.median(web), "http_p99_ms": web_p99}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
