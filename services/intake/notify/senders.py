"""The channels behind one interface: `send(to, message, key)` delivers or raises.

`TemporaryFailure` (a 5xx, a timeout, a malformed reply, a 4xx SMTP answer) is retried with
backoff; `PermanentFailure` (the provider refuses this recipient or request) stops the
notification and shows it to the operator. A failure's reason never names the recipient.
`key` is the notification's id: email uses it as the Message-ID and the gateways as an
idempotency key, so that a message sent again after a crash can be recognised downstream."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from services.intake.notify.messages import Message
from shared.mail import smtp_session
from shared.settings import GatewaySettings, NotifySettings, SmtpSettings


class DeliveryFailure(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


class TemporaryFailure(DeliveryFailure):
    """Worth trying again later."""


class PermanentFailure(DeliveryFailure):
    """Trying again would fail the same way."""


class Sender(Protocol):
    channel: str

    def send(self, to: str, message: Message, key: str) -> str:
        """Deliver; return the provider's id of the message (or the Message-ID)."""
        ...


class EmailSender:
    """Real SMTP through smtplib: STARTTLS (certificate checked) and login when configured."""

    channel = "email"

    def __init__(self, smtp: SmtpSettings) -> None:
        if not smtp.host:
            raise ValueError("SMTP_HOST is not set")
        self.smtp = smtp

    def build(self, to: str, message: Message, key: str, unsubscribe: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.smtp.mail_from
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(idstring=key.replace(":", "."), domain="1022.invalid")
        mail["Auto-Submitted"] = "auto-generated"
        # RFC 8058: the mail client can unsubscribe with one POST to the same link
        mail["List-Unsubscribe"] = f"<{unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.text)
        mail["Content-Language"] = message.lang  # after set_content, which resets Content-*
        return mail

    def send(self, to: str, message: Message, key: str) -> str:
        mail = self.build(to, message, key, message.params["unsubscribe"])
        try:
            with smtp_session(self.smtp) as smtp:
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _smtp_failure(min(codes) if codes else 550) from None
        except smtplib.SMTPResponseException as exc:
            raise _smtp_failure(exc.smtp_code) from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentFailure("smtp server does not offer STARTTLS") from None
        except ssl.SSLError:
            raise PermanentFailure("smtp TLS handshake failed") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"smtp {type(exc).__name__}") from None
        if refused:
            raise _smtp_failure(min(code for code, _ in refused.values()))
        return str(mail["Message-ID"])


def _smtp_failure(code: int) -> DeliveryFailure:
    if 400 <= code < 500:
        return TemporaryFailure(f"smtp {code}")
    return PermanentFailure(f"smtp {code}")


class HttpGatewaySender:
    """An SMS or Zalo OA HTTP gateway. POSTs JSON
    `{"to", "text", "template", "params", "idempotency_key"}` with a bearer token; expects
    2xx with a JSON object holding the provider's `id`. 5xx, 429, timeouts and anything
    malformed are temporary; other 4xx are permanent (the recipient or request is refused)."""

    def __init__(self, channel: str, settings: GatewaySettings) -> None:
        if not settings.url:
            raise ValueError(f"no gateway URL for {channel}")
        self.channel = channel
        self.settings = settings
        self.templates = dict(settings.templates)

    def payload(self, to: str, message: Message, key: str) -> dict[str, object]:
        return {"to": to, "text": message.short, "lang": message.lang,
                "template": self.templates.get(message.kind),
                "params": {k: v for k, v in message.params.items() if k != "unsubscribe"},
                "idempotency_key": key}

    def send(self, to: str, message: Message, key: str) -> str:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        request = urllib.request.Request(  # noqa: S310 - the configured gateway URL
            self.settings.url or "", method="POST", headers=headers,
            data=json.dumps(self.payload(to, message, key)).encode("utf-8"))
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as resp:  # noqa: S310
                raw = resp.read(65536)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code in {408, 429}:
                raise TemporaryFailure(f"{self.channel} http {exc.code}") from None
            raise PermanentFailure(f"{self.channel} http {exc.code}") from None
        except TimeoutError:
            raise TemporaryFailure(f"{self.channel} timeout") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            kind = "timeout" if isinstance(reason, TimeoutError) else "unreachable"
            raise TemporaryFailure(f"{self.channel} {kind}") from None
        try:
            reply = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            raise TemporaryFailure(f"{self.channel} malformed reply") from None
        if not isinstance(reply, dict) or not isinstance(reply.get("id"), str | int):
            raise TemporaryFailure(f"{self.channel} malformed reply")
        return str(reply["id"])


def senders_from_settings(settings: NotifySettings, smtp: SmtpSettings) -> dict[str, Sender]:
    """The channels that are configured; a notification for another one waits (and is shown
    to the operator as undeliverable when it gives up)."""
    out: dict[str, Sender] = {}
    if smtp.host:
        out["email"] = EmailSender(smtp)
    if settings.sms.url:
        out["sms"] = HttpGatewaySender("sms", settings.sms)
    if settings.zalo.url:
        out["zalo"] = HttpGatewaySender("zalo", settings.zalo)
    return out
