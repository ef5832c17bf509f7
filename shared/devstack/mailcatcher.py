"""A local SMTP server (aiosmtpd) that keeps every message it receives as a `.eml` file.

`make run` starts one and points intake's notifier at it, so a person can read what citizens
would receive; the tests use the same. It speaks real SMTP (and STARTTLS when given a TLS
context), so smtplib talks to it exactly as to a production relay."""

from __future__ import annotations

import itertools
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from shared.devstack.processes import free_port


class _SaveToFolder:
    def __init__(self, folder: Path, on_message: Callable[[Path], None] | None) -> None:
        self.folder = folder
        self.on_message = on_message
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 - aiosmtpd's name
                          envelope: Envelope) -> str:
        with self.lock:
            number = next(self.counter)
            path = self.folder / f"{number:05d}.eml"
            while path.exists():
                number = next(self.counter)
                path = self.folder / f"{number:05d}.eml"
            content = envelope.original_content or envelope.content or b""
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        if self.on_message is not None:
            self.on_message(path)
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(self, folder: Path, *, host: str = "127.0.0.1", port: int = 0,
                 tls_context: ssl.SSLContext | None = None,
                 on_message: Callable[[Path], None] | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port()
        self.controller = Controller(
            _SaveToFolder(folder, on_message), hostname=host, port=self.port,
            tls_context=tls_context, require_starttls=tls_context is not None,
            ready_timeout=10)

    def start(self) -> MailCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))

    def env(self, *, starttls: bool = False) -> dict[str, str]:
        """What a service's environment needs to send through this server."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port),
                "SMTP_STARTTLS": "true" if starttls else "false"}
