"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

It can be stopped and started again on the same port (an SMTP outage), and told
to refuse recipients or the next messages with a reply of your choice (a 5xx
rejection, a 4xx deferral).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None


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
            self.sink.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.rcpt_replies: dict[str, str] = {}  # address (lower case) -> reply, e.g. "550 ..."
        self.data_replies: list[str] = []       # replies to the next DATA commands, in order
        self._controller: Controller | None = None

    def start(self) -> None:
        # A stopped Controller's event loop is closed; each start needs a new one.
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def reset(self) -> None:
        """Forget what was received and every scripted reply; make sure it is running."""
        with self.lock:
            self.received.clear()
            self.rcpt_replies.clear()
            self.data_replies.clear()
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
