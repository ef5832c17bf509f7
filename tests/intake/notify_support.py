"""Fakes for the notification tests: an SMS/Zalo HTTP gateway that fails on demand."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shared.devstack import free_port

# what the gateway does with one request: "ok", "5xx", "400", "timeout" (answers after the
# client gave up, having delivered), "malformed" (a 200 that is not the JSON it promises)
Mode = str


@dataclass
class FakeGateway:
    """Delivers each idempotency key once, like a real gateway: a repeat of a key it already
    delivered is answered with the same id and not delivered again."""

    mode: Callable[[dict], Mode] = lambda body: "ok"
    slow_s: float = 0.5
    delivered: Counter = field(default_factory=Counter)  # key -> deliveries
    requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def handle(self, body: dict, headers: dict) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append({"body": body, "headers": headers})
        mode = self.mode(body)
        if mode == "5xx":
            return 503, b'{"error": "down"}'
        if mode == "400":
            return 400, b'{"error": "invalid number"}'
        key = headers.get("Idempotency-Key") or body.get("idempotency_key")
        with self.lock:
            if not self.delivered[key]:
                self.delivered[key] += 1
        if mode == "timeout":
            time.sleep(self.slow_s)
        if mode == "malformed":
            return 200, b"<html>gateway error</html>"
        return 200, json.dumps({"id": f"msg-{key}"}).encode()


@contextmanager
def running(gateway: FakeGateway) -> Iterator[FakeGateway]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, reply = gateway.handle(json.loads(raw), dict(self.headers))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{port}/send"
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
