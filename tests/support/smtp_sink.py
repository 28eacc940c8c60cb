"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

It can be stopped and started again on the same port (an SMTP outage), and told
to refuse recipients or the next messages with a reply of your choice (a 5xx
rejection, a 4xx deferral). With a certificate it speaks TLS from the first byte
(`tls="implicit"`, as on port 465) or offers STARTTLS and refuses mail without it
(`tls="starttls"`, as on 587); with `login` it refuses mail from a client that has
not logged in with that user and password.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool = False             # the session was encrypted when the message came
    login: str | None = None      # the user the client logged in as
    at: float = field(default_factory=time.time)  # when the message was accepted

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None


def _encrypted(server: Any, session: Any) -> bool:
    """After STARTTLS the session says so; with implicit TLS only the transport does."""
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.sink.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.sink.lock:
            if self.sink.data_replies:
                return self.sink.data_replies.pop(0)
            raw = envelope.original_content or envelope.content
            message = message_from_bytes(raw, policy=policy.default)
            login = session.auth_data.login.decode() if session.authenticated else None
            self.sink.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                               tls=_encrypted(server, session), login=login))
        return "250 Message accepted"


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1:`port`."""

    def __init__(self, port: int, *, tls: str | None = None, certificate: Any = None,
                 login: tuple[str, str] | None = None) -> None:
        if tls not in (None, "implicit", "starttls") or (tls and certificate is None):
            raise ValueError("tls is 'implicit' or 'starttls', with a certificate (tests.certs)")
        self.port = port
        self.tls = tls
        self.certificate = certificate
        self.login = login
        self.failed_logins: list[str] = []
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.rcpt_replies: dict[str, str] = {}  # address (lower case) -> reply, e.g. "550 ..."
        self.data_replies: list[str] = []       # replies to the next DATA commands, in order
        self._controller: Controller | None = None

    def start(self) -> None:
        # A stopped Controller's event loop is closed; each start needs a new one.
        options: dict[str, Any] = {}
        if self.tls == "implicit":
            options["ssl_context"] = self.certificate.server_context()
        elif self.tls == "starttls":
            options.update(tls_context=self.certificate.server_context(), require_starttls=True)
        if self.login is not None:
            options.update(authenticator=self._authenticate, auth_required=True,
                           # aiosmtpd knows only of STARTTLS; on an implicit TLS socket every
                           # command is encrypted already.
                           auth_require_tls=self.tls == "starttls")
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode()) \
            if isinstance(auth_data, LoginPassword) else None
        if given == self.login:
            return AuthResult(success=True, auth_data=auth_data)
        with self.lock:
            self.failed_logins.append(given[0] if given else mechanism)
        return AuthResult(success=False, handled=False)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def reset(self) -> None:
        """Forget what was received and every scripted reply; make sure it is running."""
        with self.lock:
            self.received.clear()
            self.rcpt_replies.clear()
            self.data_replies.clear()
            self.failed_logins.clear()
        if not self.running:
            self.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages() if address in m.rcpt_tos]
