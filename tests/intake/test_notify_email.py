"""Citizen notifications by email, end to end inside intake: consent on the API, the outbox,
real SMTP (aiosmtpd, as `make run` starts it) with and without STARTTLS, messages in the
report's language, the status events that call for a message, replay, unsubscribe."""

from __future__ import annotations

import datetime as dt
import email
import logging
import ssl
from email import policy
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.intake.notify import outbox
from services.intake.notify.consumer import queue_for_events
from services.intake.notify.main import make_dispatcher
from services.intake.notify.messages import Links, render
from services.intake.notify.senders import EmailSender, PermanentFailure
from shared.devstack.mailcatcher import MailCatcher
from shared.events import TicketStatusChangedV1
from shared.settings import Settings, SmtpSettings
from tests.intake.conftest import valid_report

PHONE, EMAIL, NAME = "0901234567", "an@example.vn", "Nguyễn Văn An"


@pytest.fixture
def mailbox(tmp_path: Path):
    catcher = MailCatcher(tmp_path / "mail").start()
    yield catcher
    catcher.stop()


@pytest.fixture
def mail_settings(env, mailbox: MailCatcher) -> Settings:
    return Settings.from_env({**env, **mailbox.env(), "NOTIFY_IDLE_SECONDS": "0"})


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def status(report_id: str, code: str, seq: int, frm: str | None, to: str, *,
           note: str | None = None, department: str | None = None) -> TicketStatusChangedV1:
    return TicketStatusChangedV1(
        event_id=f"{report_id}:{seq}", occurred_at=dt.datetime(2026, 11, 23, 4, tzinfo=dt.UTC),
        ticket_id=report_id, report_id=report_id, tracking_code=code, seq=seq,
        from_state=frm, to_state=to, public_note=note, category="drainage",
        department=department)


def file(client, **reporter) -> dict:
    body = valid_report(reporter={"name": NAME, "email": EMAIL, **reporter})
    resp = client.post("/api/v1/reports", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def test_received_then_assigned_then_resolved_each_once(client, db, mail_settings, clock,
                                                        mailbox, caplog):
    caplog.set_level(logging.DEBUG, logger="services")
    filed = file(client, consent_to_notify=True)
    rid, code = filed["report_id"], filed["tracking_code"]
    dispatcher = make_dispatcher(mail_settings, db, clock=clock)
    dispatcher.run_once()
    [first] = mailbox.messages()
    mail = read(first)
    assert mail["To"] == EMAIL and code in mail["Subject"]
    body = mail.get_content()
    assert filed["citizen_key"] in body and f"/track/{code}" in body
    assert "Phản ánh của bạn đã được tiếp nhận" in body  # Vietnamese by default
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    events = [status(rid, code, 1, None, "new"),
              status(rid, code, 2, "new", "assigned", department="thoat_nuoc_do_thi"),
              status(rid, code, 3, "assigned", "in_progress"),
              status(rid, code, 4, "in_progress", "resolved",
                     note="Đã nạo vét cống, nước đã rút.")]
    assert queue_for_events(db=db, events=events, now=clock()) == 2
    dispatcher.run_once()
    mails = [read(p) for p in mailbox.messages()]
    assert len(mails) == 3
    assert "Trung tâm" in mails[1].get_content() or "thoát nước" in mails[1]["Subject"].lower()
    resolved = mails[2].get_content()
    assert "Đã nạo vét cống, nước đã rút." in resolved
    assert filed["citizen_key"] not in resolved  # the key only in the first message

    # the same events again (a replay, a second replica): nothing new is queued or sent
    assert queue_for_events(db=db, events=events, now=clock()) == 0
    clock.advance(minutes=5)
    dispatcher.run_once()
    assert len(mailbox.messages()) == 3
    # no contact in the logs or in the outbox
    assert EMAIL not in caplog.text and NAME not in caplog.text
    assert EMAIL not in str(list(db[outbox.NOTIFICATIONS].find()))


def test_english_report_gets_english_messages(client, db, mail_settings, clock, mailbox):
    body = valid_report(language="en",
                        reporter={"email": EMAIL, "consent_to_notify": True})
    assert client.post("/api/v1/reports", json=body).status_code == 201
    make_dispatcher(mail_settings, db, clock=clock).run_once()
    [mail] = [read(p) for p in mailbox.messages()]
    assert "Your report was received" in mail.get_content()
    assert mail["Content-Language"] == "en"


def test_no_consent_no_message(client, db, mail_settings, clock, mailbox):
    filed = file(client)
    queue_for_events(db=db, now=clock(), events=[
        status(filed["report_id"], filed["tracking_code"], 1, None, "new"),
        status(filed["report_id"], filed["tracking_code"], 2, "new", "assigned")])
    make_dispatcher(mail_settings, db, clock=clock).run_once()
    assert mailbox.messages() == []
    assert db[outbox.NOTIFICATIONS].count_documents({}) == 0


@pytest.mark.parametrize(("reporter", "message"), [
    ({"consent_to_notify": True, "email": None, "phone": None}, "needs an email or a phone"),
    ({"consent_to_notify": True, "notify_by": ["sms"], "phone": None}, "needs a phone"),
    ({"notify_by": ["email"]}, "needs reporter.consent_to_notify"),
    ({"consent_to_notify": "yes"}, None),
])
def test_consent_errors_name_the_field(client, reporter, message):
    body = valid_report()
    body["reporter"] = {k: v for k, v in {**body["reporter"], **reporter}.items()
                        if v is not None}
    resp = client.post("/api/v1/reports", json=body)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    if message:
        assert message in str(resp.json["errors"])


def test_unsubscribe_link_stops_everything(client, db, mail_settings, clock, mailbox):
    filed = file(client, consent_to_notify=True)
    dispatcher = make_dispatcher(mail_settings, db, clock=clock)
    dispatcher.run_once()
    link = read(mailbox.messages()[0])["List-Unsubscribe"].strip("<>")
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200 and filed["tracking_code"] in page.text
    # a GET alone (a mail scanner opening the link) unsubscribes no one
    assert db.reports.find_one()["notify"].get("unsubscribed_at") is None
    assert client.post("/" + path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert db.reports.find_one()["notify"]["unsubscribed_at"] is not None
    assert client.post("/" + path).status_code == 200  # twice is harmless
    queue_for_events(db=db, now=clock(), events=[
        status(filed["report_id"], filed["tracking_code"], 2, "new", "assigned")])
    dispatcher.run_once()
    assert len(mailbox.messages()) == 1
    # a forged or damaged token
    assert client.post("/" + path[:-3] + "xyz").status_code == 404
    assert client.get("/notifications/unsubscribe/not-a-token").status_code == 404


def test_pending_message_is_cancelled_by_unsubscribe(client, db, mail_settings, clock,
                                                     mailbox):
    file(client, consent_to_notify=True)
    row = db[outbox.NOTIFICATIONS].find_one()
    from services.intake.notify.links import unsubscribe_token

    token = unsubscribe_token(mail_settings.secret_key, str(row["report_id"]))
    client.post(f"/notifications/unsubscribe/{token}")
    make_dispatcher(mail_settings, db, clock=clock).run_once()
    assert mailbox.messages() == []
    assert db[outbox.NOTIFICATIONS].find_one()["state"] == outbox.CANCELLED


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


def _message():
    return render(kind="resolved", lang="vi", code="HCM-2026-000001", note="Xong.",
                  links=Links(track="http://x/track/HCM-2026-000001", unsubscribe="http://x/u"))


def test_starttls_with_a_checked_certificate(tmp_path):
    context, cert = _self_signed(tmp_path)
    catcher = MailCatcher(tmp_path / "mail", host="localhost", tls_context=context).start()
    try:
        sender = EmailSender(SmtpSettings(host="localhost", port=catcher.port,
                                          starttls=True, ca_file=str(cert)))
        sender.send(EMAIL, _message(), "r:4:email")
        assert len(catcher.messages()) == 1
        # without the CA the certificate is not trusted: refused, not sent in clear
        untrusting = EmailSender(SmtpSettings(host="localhost", port=catcher.port,
                                              starttls=True))
        with pytest.raises(PermanentFailure, match="TLS"):
            untrusting.send(EMAIL, _message(), "r:5:email")
        # a server that requires STARTTLS refuses a client that does not use it
        plain = EmailSender(SmtpSettings(host="localhost", port=catcher.port,
                                         starttls=False))
        with pytest.raises(PermanentFailure, match="smtp 530"):
            plain.send(EMAIL, _message(), "r:6:email")
        assert len(catcher.messages()) == 1
    finally:
        catcher.stop()


def test_starttls_required_but_not_offered(tmp_path, mailbox):
    sender = EmailSender(SmtpSettings(host=mailbox.host, port=mailbox.port, starttls=True))
    with pytest.raises(PermanentFailure, match="STARTTLS"):
        sender.send(EMAIL, _message(), "r:4:email")
    assert mailbox.messages() == []
