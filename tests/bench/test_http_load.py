"""The bench's lean HTTP client reads whole answers on one keep-alive connection and
reconnects when the server closes it."""

from __future__ import annotations

import socket
import threading

from bench.http_load import KeepAliveClient, build_request


def serve(answers_per_connection: list[list[bytes]]) -> tuple[int, list[bytes]]:
    """A server that, on each successive connection, reads one request per canned answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def run() -> None:
        for answers in answers_per_connection:
            conn, _ = listener.accept()
            with conn:
                for answer in answers:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(65536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    while len(body) < length:
                        body += conn.recv(65536)
                    received.append(head + b"\r\n\r\n" + body)
                    conn.sendall(answer)
        listener.close()

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], received


def test_answers_are_read_whole_on_one_connection_then_after_a_close():
    first = b"HTTP/1.1 201 CREATED\r\nContent-Length: 5\r\n\r\nhello"
    problem = b"HTTP/1.1 422 UNPROCESSABLE ENTITY\r\nContent-Length: 2\r\n\r\n{}"
    closing = b"HTTP/1.1 201 CREATED\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    port, received = serve([[first, problem, closing], [first]])
    request = build_request("POST", "/api/v1/reports", host=f"127.0.0.1:{port}", body=b'{"a":1}')
    client = KeepAliveClient("127.0.0.1", port, request)
    assert [client.call() for _ in range(4)] == [201, 422, 201, 201]
    assert len(received) == 4
    assert all(r.endswith(b'\r\n\r\n{"a":1}') for r in received)
    assert b"Content-Type: application/json" in received[0]
    client.close()
