"""A local SMTP catcher for `make run`: every message becomes an .eml file.

    python scripts/mailcatcher.py --port 1025 --dir instance/mail

Listens on 127.0.0.1 (aiosmtpd), accepts every message and writes it as
``<UTC time>-<random>.eml`` into the directory, with two headers in front that
say what the SMTP envelope held (``X-Mailcatcher-Mail-From``,
``X-Mailcatcher-Rcpt-To``; Bcc recipients only show there). Open the files
with any mail client, or read them as text. Nothing is relayed anywhere.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import uuid
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class EmlWriter:
    """aiosmtpd handler: write each message into `directory` as an .eml file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        envelope_headers = (f"X-Mailcatcher-Mail-From: {envelope.mail_from}\r\n"
                            f"X-Mailcatcher-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        content = envelope.original_content or envelope.content
        # Write then rename, so a reader never sees half a message.
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(envelope_headers + content)
        os.replace(partial, self.directory / name)
        subject = str(make_header(decode_header(message_from_bytes(content).get("Subject", ""))))
        print(f"mail: {self.directory / name}  to {', '.join(envelope.rcpt_tos)}  {subject!r}",
              flush=True)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path("instance/mail"))
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    controller = Controller(EmlWriter(args.dir), hostname=args.host, port=args.port)
    try:
        controller.start()
    except OSError as exc:
        print(f"mailcatcher: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"mailcatcher: SMTP on {args.host}:{args.port}, writing messages to {args.dir.resolve()}",
          flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
