"""A lean HTTP/1.1 load client: one keep-alive connection sending one prebuilt request.

On a 2-core machine the load generator competes with the server for CPU. `http.client`
spends about 0.25 ms of Python per request; this client reads just the status line and
Content-Length, so the cores go to the processes being measured.
"""

from __future__ import annotations

import socket


class HttpError(RuntimeError):
    pass


def build_request(method: str, path: str, *, host: str, body: bytes = b"",
                  content_type: str = "application/json") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if body:
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode("ascii") + body


class KeepAliveClient:
    def __init__(self, host: str, port: int, request: bytes, timeout_s: float = 30.0) -> None:
        self._address = (host, port)
        self._request = request
        self._timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self._address, timeout=self._timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""
        return sock

    def call(self) -> int:
        """Send the request, read the whole answer, return its status code."""
        for attempt in (1, 2):  # the server may have closed an idle keep-alive connection
            if self._sock is None:
                self._sock = self._connect()
            try:
                self._sock.sendall(self._request)
                return self._read_answer()
            except (ConnectionError, HttpError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _recv(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed by the server")
        self._buffer += chunk

    def _read_answer(self) -> int:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._recv()
        head = self._buffer[:end].decode("latin-1")
        self._buffer = self._buffer[end + 4:]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._recv()
        self._buffer = self._buffer[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
