"""The email templates the hub ships, and rendering them.

Each template is three Jinja files under `hub/templates/email/`:
`<name>.subject.txt`, `<name>.txt` (the plain-text part) and `<name>.html`
(the HTML part, autoescaped). The registry below says what each one is for and
the JSON schema of its context; `validate_context` checks a context against
it and then renders once with StrictUndefined, so a context that does not fit
is a 422 when the email is submitted, never a failure in the worker.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
import jsonschema

TEMPLATE_DIR = "templates/email"


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    description: str
    context_schema: dict[str, Any]
    # The hub's own account mails (hub-branded, about logins): sent by the hub only,
    # never listed for or sendable by tenants, whose links could then phish.
    system: bool = False


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _text(description: str, max_length: int = 200) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "description": description}


def _url(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": "^https?://", "maxLength": 2000, "description": description}


def _schema(required: dict[str, dict], optional: dict[str, dict] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": sorted(required),
            "properties": {**required, **(optional or {})}}


NAME = _text("How to address the recipient, e.g. their first name.")
_HOURS = {"type": "integer", "minimum": 1, "maximum": 720, "description": "How long the link works."}
TEMPLATES: dict[str, EmailTemplate] = {t.name: t for t in (
    EmailTemplate("welcome", "Sent to a new tenant's owner when they sign up.", _schema(
        {"name": NAME, "tenant_name": _text("The organisation's name in the hub."),
         "email": _text("The address they log in with.", 320)},
        {"login_url": _url("Where to log in.")}), system=True),
    EmailTemplate("password_reset", "A link to choose a new password.", _schema(
        {"name": NAME, "reset_url": _url("The one-time link that resets the password."),
         "expires_minutes": {"type": "integer", "minimum": 1, "maximum": 10080,
                             "description": "How long the link works."}}), system=True),
    EmailTemplate("email_verification", "A link that confirms a new account's email address.",
                  _schema({"name": NAME, "verify_url": _url("The one-time confirmation link."),
                           "expires_hours": _HOURS}), system=True),
    EmailTemplate("invitation", "An admin's invitation to join their tenant.", _schema(
        {"inviter_name": _text("Who invited them."), "tenant_name": _text("The organisation."),
         "role": _text("The role they join with.", 20),
         "accept_url": _url("The one-time link that accepts the invitation."),
         "expires_hours": _HOURS}), system=True),
    EmailTemplate("account_exists", "Sent instead of a sign-up's confirmation when the address "
                  "already has an account.", _schema(
                      {"name": NAME, "login_url": _url("Where to log in.")}), system=True),
    EmailTemplate("job_succeeded", "A job the user asked to be notified about succeeded.", _schema(
        {"name": NAME, "job_id": _text("The job's id.", 64), "job_type": _text("e.g. file.process.", 64)},
        {"job_url": _url("Where to see the job.")})),
    EmailTemplate("job_failed", "A job the user asked to be notified about failed.", _schema(
        {"name": NAME, "job_id": _text("The job's id.", 64), "job_type": _text("e.g. file.process.", 64),
         "error_code": _text("The error code, e.g. SMTP_REJECTED.", 64),
         "error_message": _text("What went wrong, in words.", 1000)},
        {"job_url": _url("Where to see the job.")})),
    EmailTemplate("reconciliation_ready", "A payments reconciliation report is ready.", _schema(
        {"name": NAME, "reconciliation_id": _text("The report's id.", 64),
         "period_from": _text("First day covered (YYYY-MM-DD).", 32),
         "period_to": _text("Last day covered (YYYY-MM-DD).", 32)},
        {"issues": {"type": "integer", "minimum": 0,
                    "description": "How many items need attention (unmatched, mismatched, unpaid)."},
         "report_url": _url("Where to read the report.")})),
)}


class ContextError(ValueError):
    """The context does not fit the template; `fields` maps variable -> messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("the context does not fit the template")
        self.fields = fields


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("hub", TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def get_template(name: str) -> EmailTemplate | None:
    return TEMPLATES.get(name)


def all_templates() -> list[EmailTemplate]:
    return sorted(TEMPLATES.values(), key=lambda t: t.name)


def tenant_templates() -> list[EmailTemplate]:
    """The templates tenants may send (not the hub's own account mails)."""
    return [t for t in all_templates() if not t.system]


def render(name: str, context: dict[str, Any]) -> RenderedEmail:
    """Render the three parts; raises jinja2 errors for a context that does not fit."""
    env = _environment()
    subject = env.get_template(f"{name}.subject.txt").render(context)
    return RenderedEmail(
        # One line, whatever the context held: a line break would be a header injection.
        subject=" ".join(subject.split()),
        text=env.get_template(f"{name}.txt").render(context),
        html=env.get_template(f"{name}.html").render(context),
    )


def validate_context(template: EmailTemplate, context: dict[str, Any]) -> RenderedEmail:
    """Check `context` against the template's schema, then render it; raise ContextError."""
    fields: dict[str, list[str]] = {}

    def add(where: str, message: str) -> None:
        if message not in fields.setdefault(where, []):
            fields[where].append(message)

    schema = template.context_schema
    for error in jsonschema.Draft202012Validator(schema).iter_errors(context):
        if error.validator == "required" and not error.absolute_path:
            for missing in sorted(set(schema["required"]) - set(context)):
                add(missing, f"required by the template {template.name!r}")
        elif error.validator == "additionalProperties" and not error.absolute_path:
            for extra in sorted(set(context) - set(schema["properties"])):
                add(extra, f"not used by the template {template.name!r}")
        else:
            add(".".join(str(p) for p in error.absolute_path) or "_schema", error.message)
    if fields:
        raise ContextError(fields)
    try:
        return render(template.name, context)
    except (jinja2.TemplateError, TypeError, ValueError) as exc:
        raise ContextError({"_schema": [f"the template could not be rendered: {exc}"]}) from None
