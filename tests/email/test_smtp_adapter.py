"""The SMTP adapter alone against a real SMTP server (aiosmtpd) on loopback."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from flask import Flask

from hub.extensions import mail
from hub.integrations.smtp import (
    OutgoingEmail,
    SmtpPermanentError,
    SmtpSettings,
    SmtpTemporaryError,
    send_email,
)

MESSAGE = OutgoingEmail(sender="Hub <hub@tests.example>", to=["ann@example.com", "bob@example.com"],
                        subject="Grüße from the hub", text="plain words", html="<p>html words</p>",
                        message_id="<job-1.email@tests.example>",
                        headers={"Auto-Submitted": "auto-generated"})


@pytest.fixture
def mail_app() -> Iterator[Flask]:
    """Flask-Mail bound to a bare app: the adapter needs nothing else."""
    app = Flask(__name__)
    mail.init_app(app)
    with app.app_context():
        yield app


def settings(port: int, **kw) -> SmtpSettings:
    return SmtpSettings(server="127.0.0.1", port=port, timeout=kw.pop("timeout", 5), **kw)


def test_delivers_both_parts_to_every_recipient_with_the_given_message_id(mail_app, smtp_sink):
    report = send_email(settings(smtp_sink.port), MESSAGE)
    assert report.accepted == ["ann@example.com", "bob@example.com"] and report.refused == {}
    [got] = smtp_sink.messages()
    assert got.mail_from == "hub@tests.example"
    assert sorted(got.rcpt_tos) == ["ann@example.com", "bob@example.com"]
    assert got.message["Message-ID"] == "<job-1.email@tests.example>"
    assert got.message["Subject"] == "Grüße from the hub"
    assert got.message["Auto-Submitted"] == "auto-generated"
    assert got.text.strip() == "plain words" and got.html.strip() == "<p>html words</p>"


def test_some_recipients_refused_is_reported_not_raised(mail_app, smtp_sink):
    smtp_sink.rcpt_replies["bob@example.com"] = "550 5.1.1 no such user"
    report = send_email(settings(smtp_sink.port), MESSAGE)
    assert report.accepted == ["ann@example.com"]
    assert report.refused == {"bob@example.com": "550 5.1.1 no such user"}
    assert [m.rcpt_tos for m in smtp_sink.messages()] == [["ann@example.com"]]


def test_every_recipient_refused_with_5xx_is_permanent(mail_app, smtp_sink):
    for rcpt in MESSAGE.to:
        smtp_sink.rcpt_replies[rcpt] = "550 5.1.1 no such user"
    with pytest.raises(SmtpPermanentError) as caught:
        send_email(settings(smtp_sink.port), MESSAGE)
    assert caught.value.code == "SMTP_RECIPIENTS_REFUSED"
    assert "ann@example.com: 550 5.1.1 no such user" in caught.value.message
    assert smtp_sink.messages() == []


def test_a_deferred_recipient_makes_it_temporary(mail_app, smtp_sink):
    smtp_sink.rcpt_replies["ann@example.com"] = "550 no"
    smtp_sink.rcpt_replies["bob@example.com"] = "450 4.2.1 mailbox busy"
    with pytest.raises(SmtpTemporaryError) as caught:
        send_email(settings(smtp_sink.port), MESSAGE)
    assert caught.value.code == "SMTP_TEMPORARY"


@pytest.mark.parametrize("reply, error, code", [
    ("451 4.3.0 try again later", SmtpTemporaryError, "SMTP_TEMPORARY"),
    ("554 5.7.1 message rejected as spam", SmtpPermanentError, "SMTP_REJECTED"),
])
def test_data_reply_code_decides_temporary_or_permanent(mail_app, smtp_sink, reply, error, code):
    smtp_sink.data_replies.append(reply)
    with pytest.raises(error) as caught:
        send_email(settings(smtp_sink.port), MESSAGE)
    assert caught.value.code == code and reply in caught.value.message


def test_server_down_is_temporary(mail_app, smtp_sink):
    smtp_sink.stop()
    with pytest.raises(SmtpTemporaryError) as caught:
        send_email(settings(smtp_sink.port), MESSAGE)
    assert caught.value.code == "SMTP_UNAVAILABLE"
    assert f"127.0.0.1:{smtp_sink.port}" in caught.value.message


def test_a_server_that_never_greets_times_out_as_temporary(mail_app):
    with socket.socket() as silent:  # accepts connections (backlog) but never says 220
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        with pytest.raises(SmtpTemporaryError) as caught:
            send_email(settings(silent.getsockname()[1], timeout=0.5), MESSAGE)
    assert caught.value.code == "SMTP_TIMEOUT"


def test_starttls_asked_of_a_server_without_it_is_permanent(mail_app, smtp_sink):
    with pytest.raises(SmtpPermanentError) as caught:
        send_email(settings(smtp_sink.port, use_tls=True), MESSAGE)
    assert caught.value.code == "SMTP_NOT_SUPPORTED" and "MAIL_USE_TLS" in caught.value.message


def test_a_line_break_in_a_header_is_refused_before_connecting(mail_app, smtp_sink):
    bad = OutgoingEmail(**{**MESSAGE.__dict__, "subject": "hi\r\nBcc: victim@example.com"})
    with pytest.raises(SmtpPermanentError) as caught:
        send_email(settings(smtp_sink.port), bad)
    assert caught.value.code == "EMAIL_BAD_HEADER" and smtp_sink.messages() == []


def test_suppressed_sending_builds_the_message_but_connects_nowhere(mail_app):
    report = send_email(settings(1, suppress=True), MESSAGE)  # port 1: nothing listens there
    assert report.suppressed is True and report.accepted == list(MESSAGE.to)


def test_long_lines_survive_the_smtp_line_limit(mail_app, smtp_sink):
    html = "<p>" + "word " * 2000 + "</p>"  # one 10 kB line, as minified HTML often is
    text = "Grüße " * 500
    send_email(settings(smtp_sink.port), OutgoingEmail(**{**MESSAGE.__dict__, "html": html,
                                                           "text": text}))
    [got] = smtp_sink.messages()
    assert got.html == html and got.text == text
