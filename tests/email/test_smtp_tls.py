"""SMTP over TLS with a login, as mail providers require: implicit TLS (port 465,
MAIL_USE_SSL) and STARTTLS (port 587, MAIL_USE_TLS), against a real aiosmtpd server that
refuses mail from anyone who has not logged in."""
from __future__ import annotations

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
from tests.support.certs import self_signed
from tests.support.smtp_sink import SmtpSink

# aiosmtpd warns of AUTH "without TLS" on the implicit TLS socket, which is all TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER, PASSWORD = "hub-mailer", "smtp-pass-" + "q" * 12
MESSAGE = OutgoingEmail(sender="Hub <hub@tests.example>", to=["ann@example.com"], subject="Over TLS",
                        text="sealed words", message_id="<job-tls.email@tests.example>")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("smtp-cert"), "mail.tests.example")


@pytest.fixture(params=["implicit", "starttls"])
def secure_sink(request, certificate) -> Iterator[SmtpSink]:
    from localservices import free_port

    sink = SmtpSink(free_port(), tls=request.param, certificate=certificate, login=(USER, PASSWORD))
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_app() -> Iterator[Flask]:
    app = Flask(__name__)
    mail.init_app(app)
    with app.app_context():
        yield app


def _settings(sink: SmtpSink, **kw) -> SmtpSettings:
    """Settings that trust the sink's certificate as MAIL_TLS_CA_FILE would."""
    kw.setdefault("ca_file", str(sink.certificate.cert_file))
    return SmtpSettings(server="127.0.0.1", port=sink.port, use_ssl=sink.tls == "implicit",
                        use_tls=sink.tls == "starttls", timeout=5, **kw)


def test_a_certificate_nobody_vouches_for_is_refused_before_the_password_goes(mail_app, secure_sink):
    """Without the relay's CA (here: the system's CAs only) the TLS handshake fails, so the
    login is never sent to a server that merely claims to be the relay."""
    with pytest.raises(SmtpTemporaryError) as refused:
        send_email(_settings(secure_sink, ca_file=None, username=USER, password=PASSWORD), MESSAGE)
    assert refused.value.code == "SMTP_TLS_ERROR"
    assert "CERTIFICATE_VERIFY_FAILED" in refused.value.message
    assert secure_sink.failed_logins == [] and secure_sink.messages() == []


def test_verification_off_still_encrypts(mail_app, secure_sink):
    """MAIL_TLS_VERIFY=false (development relays) skips the check, not the encryption."""
    send_email(_settings(secure_sink, ca_file=None, verify=False, username=USER, password=PASSWORD),
               MESSAGE)
    (received,) = secure_sink.messages()
    assert received.tls is True


def test_mail_goes_encrypted_and_logged_in(mail_app, secure_sink):
    report = send_email(_settings(secure_sink, username=USER, password=PASSWORD), MESSAGE)
    assert report.accepted == ["ann@example.com"]
    (received,) = secure_sink.messages()
    assert received.tls is True and received.login == USER
    assert received.text.strip() == "sealed words"
    assert received.message["Message-ID"] == MESSAGE.message_id


def test_a_wrong_password_is_a_permanent_failure_that_names_the_settings(mail_app, secure_sink):
    with pytest.raises(SmtpPermanentError) as refused:
        send_email(_settings(secure_sink, username=USER, password="not-the-password"), MESSAGE)
    assert refused.value.code == "SMTP_AUTH_FAILED" and refused.value.smtp_code == 535
    assert "MAIL_USERNAME/MAIL_PASSWORD" in refused.value.message
    assert "not-the-password" not in refused.value.message
    # smtplib tries each mechanism the server offers (PLAIN, LOGIN), each refused.
    assert set(secure_sink.failed_logins) == {USER} and secure_sink.messages() == []


def test_without_a_login_the_server_refuses_the_mail(mail_app, secure_sink):
    with pytest.raises(SmtpPermanentError) as refused:
        send_email(_settings(secure_sink), MESSAGE)
    assert refused.value.smtp_code == 530  # authentication required
    assert secure_sink.messages() == []


def test_a_password_is_never_sent_before_starttls(mail_app, certificate):
    """MAIL_USE_TLS off against a server that wants STARTTLS: the login is not attempted in
    clear text (the server offers no AUTH before TLS), and the failure says what to change."""
    from localservices import free_port

    sink = SmtpSink(free_port(), tls="starttls", certificate=certificate, login=(USER, PASSWORD))
    sink.start()
    try:
        settings = SmtpSettings(server="127.0.0.1", port=sink.port, username=USER, password=PASSWORD,
                                timeout=5, ca_file=str(certificate.cert_file))
        with pytest.raises(SmtpPermanentError) as refused:
            send_email(settings, MESSAGE)
        assert refused.value.code == "SMTP_NOT_SUPPORTED" and "MAIL_USE_TLS" in refused.value.message
        assert sink.failed_logins == [] and sink.messages() == []
    finally:
        sink.stop()
