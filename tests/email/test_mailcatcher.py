"""`make run`'s SMTP catcher: a real process that writes each message as an .eml file."""
from __future__ import annotations

import smtplib
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from tests.support.processes import HubProcess, child_env, wait_until


def test_each_message_becomes_an_eml_file_with_its_envelope(tmp_path: Path, process_logs: Path):
    from localservices import free_port

    port = free_port()
    mail_dir = tmp_path / "mail"
    catcher = HubProcess("mailcatcher", [sys.executable, "scripts/mailcatcher.py", "--port", str(port),
                                         "--dir", str(mail_dir)], child_env({}), process_logs)
    try:
        def connect() -> smtplib.SMTP:
            return smtplib.SMTP("127.0.0.1", port, timeout=5)

        wait_until(lambda: connect().quit(), 30, "the catcher to listen", proc=catcher.proc)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "hub@example.com", "ann@example.com", "Hej"
        message.set_content("plain")
        message.add_alternative("<p>html</p>", subtype="html")
        with connect() as smtp:
            smtp.send_message(message, to_addrs=["ann@example.com", "hidden@example.com"])
        [eml] = wait_until(lambda: list(mail_dir.glob("*.eml")), 10, "the .eml file")
        saved = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert saved["Subject"] == "Hej" and saved["X-Mailcatcher-Mail-From"] == "hub@example.com"
        assert saved["X-Mailcatcher-Rcpt-To"] == "ann@example.com, hidden@example.com"
        assert saved.get_body(("html",)).get_content().strip() == "<p>html</p>"
        assert [p.name for p in mail_dir.iterdir()] == [eml.name]  # no partial files left
    finally:
        catcher.stop()
    assert catcher.proc.returncode == 0, catcher.log_tail()
