"""Classifier speed: batch throughput and single-report latency through the whole pipeline,
beside the bare model on already-vectorised input (the ceiling), in one run, one core."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from services.classifier.corpus import load_split
from services.classifier.train import load
from shared.devstack import free_port, wait_for_port
from shared.settings import REPO_ROOT, Settings

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def best_rate(fn, n: int) -> float:
    rates = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fn()
        rates.append(n / (time.perf_counter() - t0))
    return max(rates)


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

    pipeline = best_rate(lambda: classifier.predict(texts), len(texts))
    vectorize = best_rate(lambda: classifier.vectorize(texts), len(texts))
    bare = best_rate(lambda: (classifier.category_head.predict_proba(matrix),
                              classifier.urgency_head.predict_proba(matrix)), len(texts))
    single = []
    for text in texts[:1000]:
        t0 = time.perf_counter()
        classifier.predict([text])
        single.append((time.perf_counter() - t0) * 1000)
    p99 = statistics.quantiles(single, n=100)[98]
    web = http_latencies(texts[:1020])
    web_p99 = statistics.quantiles(web, n=100)[98]
    rows = [
        ("whole pipeline, batch of 2,000 (reports/s)", f"{pipeline:,.0f}"),
        ("text views + TF-IDF only (reports/s)", f"{vectorize:,.0f}"),
        ("bare model on vectorised input (reports/s, the ceiling)", f"{bare:,.0f}"),
        ("pipeline / ceiling", f"{pipeline / bare:.3f}"),
        ("single report p50 / p99 (ms)", f"{statistics.median(single):.2f} / {p99:.2f}"),
        ("POST /api/v1/classify under gunicorn, p50 / p99 (ms)",
         f"{statistics.median(web):.2f} / {web_p99:.2f}"),
        ("target", "≥ 1,000 reports/s per core; p99 < 20 ms"),
    ]
    print(f"\nclassifier benchmark, model {classifier.version}, best of {ROUNDS}, one process")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "classifier.json").write_text(json.dumps({
        "pipeline_per_s": pipeline, "vectorize_per_s": vectorize, "bare_per_s": bare,
        "single_p50_ms": statistics.median(single), "single_p99_ms": p99,
        "http_p50_ms": statistics.median(web), "http_p99_ms": web_p99}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
