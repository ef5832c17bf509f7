"""Gunicorn settings shared by the services (`gunicorn -c python:shared.web.gunicorn_conf`).

No preload: each worker builds its own app, Mongo and Kafka clients after the fork
(pymongo is not fork-safe). Metrics go through PROMETHEUS_MULTIPROC_DIR so /metrics adds
up every worker's samples.
"""

import os
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prom-1022-")

from prometheus_client import multiprocess  # noqa: E402 - needs the variable above first

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# threads let one worker hold several requests, so their inserts can leave together
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# gunicorn's control socket has one default path per user: several services on one host
# would replace each other's socket, and stopping one would remove it for all. Unused here.
control_socket_disable = True
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100
accesslog = None  # request lines carry tracking codes in paths; metrics count requests instead
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def on_starting(server):  # noqa: ARG001 - gunicorn hook signature
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))


def post_worker_init(worker):
    """The worker's stop signals also end long responses (shared/web/lifecycle.py) before
    gunicorn waits for its requests to finish."""
    import signal

    from shared.web import lifecycle

    for signum in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(sig, frame, previous=previous):
            lifecycle.stopping()
            if callable(previous):
                previous(sig, frame)

        signal.signal(signum, handler)


def child_exit(server, worker):  # noqa: ARG001 - gunicorn hook signature
    multiprocess.mark_process_dead(worker.pid)
