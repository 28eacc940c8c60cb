"""SMTP through Flask-Mail: send one message, sort failures into temporary and permanent.

Plain values in (`SmtpSettings`, `OutgoingEmail`), a `DeliveryReport` out.
Flask-Mail builds the MIME message (both parts, encoded headers) and opens the
connection; this module adds what a worker needs on top: a socket timeout (a
stalled server must not hang a worker forever), the caller's Message-ID, the
per-recipient refusals the server reported, and errors classified by SMTP
reply code — 4xx and network trouble may pass (`SmtpTemporaryError`), 5xx
will not (`SmtpPermanentError`).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.mime.text import MIMEText

from flask_mail import Connection, Message, sanitize_address, sanitize_addresses

from hub.telemetry import integration_call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect. `suppress`: build the message but send nothing."""

    server: str
    port: int
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    suppress: bool = False
    debug: int = 0
    # TLS (either kind) checks the server's certificate and name against the system's
    # CAs, or against `ca_file` for a relay with a private CA. `verify=False` encrypts
    # without knowing whom to: development relays only (production refuses it).
    ca_file: str | None = None
    verify: bool = True

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str
    to: Sequence[str]
    subject: str
    text: str
    message_id: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    accepted: list[str]
    refused: dict[str, str]  # recipient -> the server's reply, when some (not all) were refused
    suppressed: bool = False


class SmtpError(Exception):
    """A failed send; `code` is the hub's error code, `reply` the server's words."""

    def __init__(self, message: str, code: str, smtp_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.smtp_code = smtp_code


class SmtpTemporaryError(SmtpError):
    """Worth trying again later: the server is down, busy, or said 4xx."""


class SmtpPermanentError(SmtpError):
    """Trying again will not help: the server said 5xx, or the message is malformed."""


class _TimedConnection(Connection):
    """Flask-Mail's connection with a socket timeout (Flask-Mail opens without one)."""

    def __init__(self, settings: SmtpSettings) -> None:
        super().__init__(settings)  # type: ignore[arg-type] - it reads the same attribute names
        self.settings = settings

    def configure_host(self) -> smtplib.SMTP:
        s = self.settings
        if s.use_ssl:
            host = smtplib.SMTP_SSL(s.server, s.port, timeout=s.timeout, context=s.tls_context())
        else:
            host = smtplib.SMTP(s.server, s.port, timeout=s.timeout)
        try:
            host.set_debuglevel(s.debug)
            if s.use_tls:
                host.starttls(context=s.tls_context())
            if s.username and s.password:
                host.login(s.username, s.password)
        except BaseException:
            _close(host)
            raise
        return host


# RFC 5321 4.5.3.1.6: a line is at most 998 octets. Flask-Mail sends UTF-8 bodies
# as they are (8bit), so a long line (minified HTML, a paragraph without breaks)
# would be refused by the server; such parts go quoted-printable instead.
MAX_LINE_OCTETS = 998
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


class _Message(Message):
    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        if text and any(len(line.encode()) > MAX_LINE_OCTETS for line in text.splitlines()):
            return MIMEText(text, _subtype=subtype, _charset=_UTF8_QP)  # type: ignore[arg-type]
        return super()._mimetext(text, subtype)


def build_message(email: OutgoingEmail) -> Message:
    """The Flask-Mail message (needs an app context with Flask-Mail bound)."""
    message = _Message(subject=email.subject, recipients=list(email.to), body=email.text,
                      html=email.html, sender=email.sender, extra_headers=dict(email.headers))
    # Flask-Mail makes a random id per Message; ours is stable so a re-sent
    # attempt of the same job is recognisably the same message.
    message.msgId = email.message_id
    return message


def send_email(settings: SmtpSettings, email: OutgoingEmail) -> DeliveryReport:
    """Send one message in its own SMTP session; raise SmtpTemporaryError / SmtpPermanentError."""
    message = build_message(email)
    if not email.to:
        raise SmtpPermanentError("The message has no recipients.", "EMAIL_NO_RECIPIENTS")
    if message.has_bad_headers():
        raise SmtpPermanentError("A header (subject, sender or recipient) contains a line break.",
                                 "EMAIL_BAD_HEADER")
    message.date = time.time()
    raw = message.as_bytes()
    recipients = sanitize_addresses(email.to)
    if settings.suppress:
        log.info("MAIL_SUPPRESS_SEND is on: not sending %s to %d recipient(s)",
                 email.message_id, len(recipients))
        return DeliveryReport(email.message_id, list(email.to), {}, suppressed=True)
    with integration_call("smtp", "sendmail", **{"server.address": settings.server}) as call:
        try:
            refused = _deliver(settings, sanitize_address(email.sender), recipients, raw)
        except SmtpPermanentError:
            call.outcome = "rejected"
            raise
        if refused:
            call.outcome = "rejected" if len(refused) == len(recipients) else "ok"
    refused_text = {rcpt: _reply(code, text) for rcpt, (code, text) in refused.items()}
    accepted = [rcpt for rcpt in recipients if rcpt not in refused]
    return DeliveryReport(email.message_id, accepted, refused_text)


def _deliver(settings: SmtpSettings, sender: str, recipients: list[str],
             raw: bytes) -> dict[str, tuple[int, bytes]]:
    try:
        host = _TimedConnection(settings).configure_host()
    except OSError as exc:  # smtplib's errors are OSErrors too
        raise classify(exc, f"{settings.server}:{settings.port}") from exc
    try:
        return host.sendmail(sender, recipients, raw)
    except OSError as exc:
        raise classify(exc, f"{settings.server}:{settings.port}") from exc
    finally:
        # After the server accepted the data, a failing QUIT must not turn the
        # delivery into an error (that would send the message again).
        _close(host)


def _close(host: smtplib.SMTP) -> None:
    try:
        host.quit()
    except OSError:
        host.close()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def _by_code(code: int, message: str, temporary_code: str, permanent_code: str) -> SmtpError:
    if 500 <= code < 600:
        return SmtpPermanentError(message, permanent_code, code)
    return SmtpTemporaryError(message, temporary_code, code)


def classify(exc: OSError, where: str) -> SmtpError:
    """Sort an smtplib / socket error into temporary or permanent, with a clear message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {rcpt: _reply(code, text) for rcpt, (code, text) in exc.recipients.items()}
        listed = "; ".join(f"{rcpt}: {reply}" for rcpt, reply in replies.items())
        if all(500 <= code < 600 for code, _ in exc.recipients.values()):
            return SmtpPermanentError(f"The SMTP server refused every recipient ({listed}).",
                                      "SMTP_RECIPIENTS_REFUSED", 550)
        return SmtpTemporaryError(f"The SMTP server deferred the recipients ({listed}).",
                                  "SMTP_TEMPORARY", 450)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, "The SMTP server refused the login "
                        f"({_reply(exc.smtp_code, exc.smtp_error)}); check MAIL_USERNAME/MAIL_PASSWORD.",
                        "SMTP_TEMPORARY", "SMTP_AUTH_FAILED")
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            what = f"refused the sender {exc.sender}"
        elif isinstance(exc, smtplib.SMTPDataError):
            what = "refused the message"
        else:
            what = "answered"
        return _by_code(exc.smtp_code, f"The SMTP server {what}: {reply}.",
                        "SMTP_TEMPORARY", "SMTP_REJECTED")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SmtpPermanentError(f"The SMTP server at {where} does not support what the settings "
                                  f"ask for ({exc}); check MAIL_USE_TLS and MAIL_USERNAME.",
                                  "SMTP_NOT_SUPPORTED")
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        # smtplib reports a read timeout as "connection unexpectedly closed".
        return SmtpTemporaryError(f"The SMTP server at {where} did not answer in time.", "SMTP_TIMEOUT")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SmtpTemporaryError(f"The SMTP server at {where} closed the connection.",
                                  "SMTP_DISCONNECTED")
    if isinstance(exc, ssl.SSLError):
        return SmtpTemporaryError(f"TLS with the SMTP server at {where} failed: {exc}.", "SMTP_TLS_ERROR")
    return SmtpTemporaryError(f"Could not reach the SMTP server at {where}: "
                              f"{exc.strerror or exc or exc.__class__.__name__}.", "SMTP_UNAVAILABLE")
