"""Email: the `email.send` job type, submitting mail, the daily limit, and the hub's own mail.

Mail is always a job: `POST /emails` validates (recipients, template and its
context), counts the recipients against the tenant's daily limit and queues an
`email.send` job in one transaction; a worker renders and sends it over SMTP
(`hub.integrations.smtp`). The hub queues mail of its own the same way: a
welcome mail on sign-up and, for jobs created with `notify: true`, a note to
their creator when they finish. Those do not count against the daily limit.

Delivery is at least once, so a message's `Message-ID` is derived from its job
id: a re-delivered job sends the same message again, never a different one.
"""
from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy.dialects import postgresql

from hub import audit, jobs
from hub.extensions import db
from hub.integrations import smtp
from hub.jobs import events
from hub.jobs.types import JobContext, PermanentError, RetryableError, RetryPolicy, job_type
from hub.models import EmailDailyUsage, Job, Tenant, User, utcnow
from hub.services.email.templates import ContextError, get_template, render, validate_context
from hub.web.errors import HubError, RateLimited, ValidationFailed

log = logging.getLogger(__name__)

EMAIL_JOB = "email.send"
MAX_BODY = 512 * 1024  # characters per part
ADDRESS = {"type": "string", "maxLength": 320, "pattern": r"^[^@\s<>,;]+@[^@\s<>,;]+$"}
PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["to"],
    "properties": {
        "to": {"type": "array", "minItems": 1, "maxItems": 1000, "items": ADDRESS},
        "template": {"type": "string", "maxLength": 64},
        "context": {"type": "object"},
        "subject": {"type": "string", "minLength": 1, "maxLength": 998, "pattern": r"^[^\r\n]*$"},
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_BODY},
        "html": {"type": "string", "minLength": 1, "maxLength": MAX_BODY},
    },
    "oneOf": [
        {"required": ["template", "context"], "not": {"anyOf": [{"required": ["subject"]},
                                                                {"required": ["text"]},
                                                                {"required": ["html"]}]}},
        {"required": ["subject", "text"], "not": {"anyOf": [{"required": ["template"]},
                                                            {"required": ["context"]}]}},
    ],
}


@dataclass(frozen=True)
class SettingRetryPolicy(RetryPolicy):
    """A RetryPolicy whose base delay is a setting, read when a retry is scheduled."""

    base_delay_setting: str = "EMAIL_RETRY_BASE_SECONDS"

    def current(self) -> RetryPolicy:
        base = self.base_delay
        if has_app_context():
            base = float(current_app.config.get(self.base_delay_setting, base))
        return RetryPolicy(max_attempts=self.max_attempts, base_delay=base, factor=self.factor,
                           max_delay=self.max_delay, jitter=self.jitter, retry_on=self.retry_on)

    def delay(self, attempt: int, rng=None, retry_after: float | None = None) -> float:
        return self.current().delay(attempt, rng, retry_after)

    def describe(self) -> dict[str, Any]:
        return self.current().describe()


# 10 attempts, 5 s doubling (the default base): about 40 minutes of SMTP outage is
# ridden out before a message fails for good.
RETRY = SettingRetryPolicy(max_attempts=10, base_delay=5.0, factor=2.0, max_delay=1800.0)


# --- submitting -------------------------------------------------------------

def _invalid(message: str, fields: dict[str, Any]) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": {"json": fields}})


def normalize_recipients(to: list[str]) -> list[str]:
    """Trimmed, without duplicates (case-insensitive), at most EMAIL_MAX_RECIPIENTS."""
    seen: set[str] = set()
    unique = []
    for address in (a.strip() for a in to):
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    if not unique:
        raise _invalid("Give at least one recipient.", {"to": ["at least one recipient"]})
    limit = current_app.config["EMAIL_MAX_RECIPIENTS"]
    if len(unique) > limit:
        raise _invalid(f"At most {limit} recipients per message.",
                       {"to": [f"{len(unique)} recipients; at most {limit}"]})
    return unique


def build_payload(data: dict[str, Any], *, allow_system: bool = False) -> dict[str, Any]:
    """The `email.send` payload for a request `{to, template, context}` or `{to, subject, text, html?}`.

    Raises ValidationFailed for an unknown template, a system template (the hub's own
    account mails) unless `allow_system`, or a context that does not fit.
    """
    to = normalize_recipients(data["to"])
    if data.get("template") is None:
        payload = {"to": to, "subject": data["subject"], "text": data["text"]}
        if data.get("html"):
            payload["html"] = data["html"]
        return payload
    template = get_template(data["template"])
    if template is None:
        raise _invalid("Unknown email template; GET /emails/templates lists them.",
                       {"template": [f"unknown template {data['template']!r}"]})
    if template.system and not allow_system:
        raise _invalid(f"The template {template.name!r} is one of the hub's own account mails; only "
                       "the hub sends it. GET /emails/templates lists the ones you can send.",
                       {"template": ["the hub's own template, not sendable"]})
    context = data.get("context") or {}
    try:
        validate_context(template, context)
    except ContextError as exc:
        raise _invalid(f"The context does not fit the template {template.name!r}.",
                       {"context": exc.fields}) from None
    return {"to": to, "template": template.name, "context": context}


def _seconds_to_utc_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - now).total_seconds()))


def reserve_daily_quota(tenant_id: uuid.UUID, recipients: int) -> int:
    """Count `recipients` against today's (UTC) limit in the caller's transaction.

    Returns the day's total. Over the limit: rolls back and raises RateLimited with
    Retry-After until midnight UTC. The counter row stays locked until commit, so
    concurrent sends of one tenant cannot both slip under the limit.
    """
    limit = current_app.config["EMAIL_DAILY_LIMIT"]
    now = utcnow()
    table = EmailDailyUsage.__table__
    stmt = postgresql.insert(table).values(tenant_id=tenant_id, day=now.date(), recipients=recipients)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.tenant_id, table.c.day],
        set_={"recipients": table.c.recipients + stmt.excluded.recipients},
    ).returning(table.c.recipients)
    used = db.session.execute(stmt).scalar_one()
    if used > limit:
        db.session.rollback()
        retry_after = _seconds_to_utc_midnight(now)
        left = max(0, limit - (used - recipients))
        raise RateLimited(
            f"The daily email limit ({limit} recipients) would be exceeded: {left} left today, "
            f"{recipients} asked for. It resets at 00:00 UTC.",
            details={"limit": limit, "remaining": left, "requested": recipients,
                     "resets_in_seconds": retry_after},
            headers={"Retry-After": str(retry_after)})
    return used


def submit(actor: audit.Actor, data: dict[str, Any]) -> Job:
    """Queue a message for a client (POST /emails): validate, count, queue, audit. Commits."""
    payload = build_payload(data)
    reserve_daily_quota(actor.tenant_id, len(payload["to"]))
    job = jobs.create_job(actor.tenant_id, EMAIL_JOB, payload, created_by=actor.user_id,
                          api_key_id=actor.api_key_id, internal=True)
    audit.record(actor, "email.queued", "job", job.id,
                 {"template": payload.get("template"), "recipients": len(payload["to"])})
    jobs.commit_and_dispatch()
    return job


def queue_email(tenant_id: uuid.UUID, to: list[str], template: str, context: dict[str, Any], *,
                created_by: uuid.UUID | None = None) -> Job:
    """Queue one of the hub's own templated messages in the caller's transaction.

    Not counted against the daily limit; the caller commits with `jobs.commit_and_dispatch()`.
    """
    payload = build_payload({"to": to, "template": template, "context": context}, allow_system=True)
    return jobs.create_job(tenant_id, EMAIL_JOB, payload, created_by=created_by, internal=True)


def queue_welcome(user: User, tenant: Tenant) -> Job | None:
    """The welcome mail for a new tenant's owner (unless EMAIL_WELCOME_ENABLED is off)."""
    if not current_app.config["EMAIL_WELCOME_ENABLED"]:
        return None
    return queue_email(tenant.id, [user.email], "welcome",
                       {"name": user.name[:200], "tenant_name": tenant.name[:200], "email": user.email},
                       created_by=user.id)


# --- notifications ----------------------------------------------------------

def notify_job_creator(tenant_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """On job.succeeded / job.failed: mail the creator of a job created with `notify`.

    Runs in the transaction that finishes the job, so the notice is queued if and
    only if the job's outcome is recorded. Never for email jobs (no mail loops),
    and never lets a problem with the notice undo the job's outcome.
    """
    if not data.get("notify") or data.get("type") == EMAIL_JOB or not data.get("created_by"):
        return
    user = db.session.get(User, uuid.UUID(data["created_by"]))
    if user is None or user.tenant_id != tenant_id or not user.is_active:
        return
    context = {"name": user.name[:200], "job_id": data["id"], "job_type": data["type"][:64]}
    template = "job_succeeded"
    if event_type == "job.failed":
        error = data.get("error") or {}
        template = "job_failed"
        context.update(error_code=str(error.get("code") or "JOB_ERROR")[:64],
                       error_message=str(error.get("message") or "The job failed.")[:1000])
    try:
        job = queue_email(tenant_id, [user.email], template, context, created_by=user.id)
    except HubError as exc:
        log.warning("could not queue the %s notice for job %s: %s", template, data["id"], exc)
        return
    job.request_id = data.get("request_id")  # one correlation id from the request to the notice


events.subscribe("job.succeeded", notify_job_creator)
events.subscribe("job.failed", notify_job_creator)


# --- sending (the worker) ---------------------------------------------------

def message_id_for(job_id: uuid.UUID, sender: str) -> str:
    """A Message-ID that is the same for every attempt of a job."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "integration-hub.invalid"
    return f"<{job_id}.email@{domain}>"


def smtp_settings() -> smtp.SmtpSettings:
    """The app's SMTP settings as plain values for the adapter."""
    cfg = current_app.config
    return smtp.SmtpSettings(
        server=cfg["MAIL_SERVER"], port=cfg["MAIL_PORT"], use_tls=cfg["MAIL_USE_TLS"],
        use_ssl=cfg["MAIL_USE_SSL"], username=cfg["MAIL_USERNAME"], password=cfg["MAIL_PASSWORD"],
        timeout=cfg["MAIL_TIMEOUT"], suppress=current_app.extensions["mail"].suppress,
        ca_file=cfg["MAIL_TLS_CA_FILE"], verify=cfg["MAIL_TLS_VERIFY"])


def _content(payload: dict[str, Any]) -> tuple[str, str, str | None]:
    if "template" not in payload:
        return payload["subject"], payload["text"], payload.get("html")
    try:
        rendered = render(payload["template"], payload["context"])
    except Exception as exc:  # noqa: BLE001 - checked at submit; only a changed template gets here
        raise PermanentError(f"The template {payload['template']!r} could not be rendered: {exc}",
                             code="EMAIL_TEMPLATE_ERROR") from exc
    return rendered.subject, rendered.text, rendered.html


@job_type(EMAIL_JOB, schema=PAYLOAD_SCHEMA, queue="email", retry=RETRY, creatable=False,
          flow_keys=lambda payload, tenant_id: ["smtp"],
          created_through="POST /api/v1/emails",
          description="Send one email over SMTP (queued by POST /emails and by the hub itself).")
def send_email(ctx: JobContext) -> dict[str, Any]:
    subject, text, html = _content(ctx.payload)
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = smtp.OutgoingEmail(
        sender=sender, to=ctx.payload["to"], subject=subject, text=text, html=html,
        message_id=message_id_for(ctx.job_id, sender),
        headers={"Auto-Submitted": "auto-generated"})  # RFC 3834: no auto-replies, please
    ctx.progress(50, f"sending to {len(message.to)} recipient(s)")  # also a cancel checkpoint
    try:
        report = smtp.send_email(smtp_settings(), message)
    except smtp.SmtpTemporaryError as exc:
        raise RetryableError(exc.message, code=exc.code) from exc
    except smtp.SmtpPermanentError as exc:
        raise PermanentError(exc.message, code=exc.code) from exc
    if report.refused:
        log.warning("message %s: %d recipient(s) refused", report.message_id, len(report.refused))
    return {"message_id": report.message_id, "accepted": report.accepted,
            "refused": report.refused, "suppressed": report.suppressed}
