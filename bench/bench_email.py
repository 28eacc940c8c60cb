"""How much the hub's SMTP adapter costs over raw smtplib, per message.

    .venv/bin/python bench/bench_email.py [messages] [--json PATH]

Both sides send the same two-part message to the same aiosmtpd server on
loopback, one SMTP session per message (as the worker does). The raw side
sends pre-built bytes with smtplib; the hub side goes through
`hub.integrations.smtp.send_email` (Flask-Mail builds the MIME message, the
adapter sets the Message-ID, opens a timed connection, classifies errors).
Rounds alternate so machine noise hits both alike. Prints a ratio, not a
verdict: SMTP round trips dominate either way.
"""
from __future__ import annotations

import smtplib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from flask import Flask  # noqa: E402
from localservices import free_port  # noqa: E402

from bench import cli  # noqa: E402
from hub.extensions import mail  # noqa: E402
from hub.integrations.smtp import OutgoingEmail, SmtpSettings, build_message, send_email  # noqa: E402
from tests.support.smtp_sink import SmtpSink  # noqa: E402

ROUNDS = 5


def main(messages: int = 200) -> dict:
    sink = SmtpSink(free_port())
    sink.start()
    app = Flask(__name__)
    mail.init_app(app)
    settings = SmtpSettings(server="127.0.0.1", port=sink.port, timeout=10)
    email = OutgoingEmail(sender="hub@bench.example", to=["ann@bench.example"], subject="Bench",
                          text="plain " * 200, html="<p>html</p>" * 200,
                          message_id="<bench.email@bench.example>")
    with app.app_context():
        raw = build_message(email).as_bytes()

        def raw_send() -> None:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
                smtp.sendmail("hub@bench.example", ["ann@bench.example"], raw)

        def hub_send() -> None:
            send_email(settings, email)

        per_message: dict[str, list[float]] = {"raw smtplib": [], "hub adapter": []}
        for _ in range(ROUNDS):
            for name, send in (("raw smtplib", raw_send), ("hub adapter", hub_send)):
                started = time.perf_counter()
                for _ in range(messages // ROUNDS):
                    send()
                per_message[name].append((time.perf_counter() - started) / (messages // ROUNDS))
    sink.stop()
    assert len(sink.messages()) == 2 * ROUNDS * (messages // ROUNDS)
    raw_ms = statistics.median(per_message["raw smtplib"]) * 1000
    hub_ms = statistics.median(per_message["hub adapter"]) * 1000
    print(f"{messages} messages each, median of {ROUNDS} rounds, one SMTP session per message")
    print(f"  raw smtplib  {raw_ms:7.2f} ms/message")
    print(f"  hub adapter  {hub_ms:7.2f} ms/message")
    print(f"  ratio        {hub_ms / raw_ms:7.2f}x")
    return {"messages_per_side": ROUNDS * (messages // ROUNDS), "raw_ms_per_message": round(raw_ms, 2),
            "hub_ms_per_message": round(hub_ms, 2), "ratio": round(hub_ms / raw_ms, 3)}


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("messages", nargs="?", type=int, default=200)
    args = cli.parse(parser)
    cli.write_figures(args.json, main(args.messages))
