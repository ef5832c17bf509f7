"""One way to open the mail relay (`Settings.smtp`) for both senders: intake's citizen
messages and the tracker's staff alerts. STARTTLS checks the server's certificate (against
SMTP_CA_FILE when set): a relay that cannot prove who it is gets no mail and no password."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from shared.settings import SmtpSettings


@contextmanager
def smtp_session(smtp: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """A connection ready to send: greeted, upgraded to TLS when configured, logged in.
    Raises smtplib's and ssl's errors as they come (the caller decides what is retried)."""
    with smtplib.SMTP(smtp.host or "", smtp.port, timeout=smtp.timeout_s) as session:
        session.ehlo()
        if smtp.starttls:
            session.starttls(context=ssl.create_default_context(cafile=smtp.ca_file))
            session.ehlo()
        if smtp.username:
            session.login(smtp.username, smtp.password or "")
        yield session
