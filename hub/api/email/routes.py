"""Email: queue a message (templated or plain) and list the templates."""
from __future__ import annotations

from flask.views import MethodView

from hub.api.access import auth_required, current_principal
from hub.api.email.schemas import EmailCreateSchema, EmailTemplateSchema
from hub.api.idempotency import idempotent
from hub.api.jobs.schemas import JobSchema
from hub.services import email, quotas
from hub.services.email.templates import tenant_templates
from hub.web.envelope import HubBlueprint, set_message

blp = HubBlueprint("emails", __name__, url_prefix="/emails",
                   description="Email over SMTP: every message is an `email.send` job.")


@blp.route("/templates")
class EmailTemplates(MethodView):
    @auth_required()
    @blp.response(200, EmailTemplateSchema(many=True))
    def get(self):
        """The templates you can send, with the context each needs (the hub's own account
        mails, such as password resets, are not among them)."""
        return tenant_templates()


@blp.route("")
class Emails(MethodView):
    @auth_required()
    @idempotent
    @blp.arguments(EmailCreateSchema)
    @blp.response(202, JobSchema)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS",
                      description="Over the tenant's daily email limit (Retry-After: until "
                                  "midnight UTC) or its job rate.")
    def post(self, data):
        """Queue an email: `{to, template, context}` or `{to, subject, text, html?}`.

        Recipients, the template and its context are checked here (422), and the
        recipients count against the tenant's daily limit (429). A worker sends it.
        """
        p = current_principal()
        quotas.check_job_creation_rate(p.tenant_id)
        job = email.submit(p.actor, data)
        set_message("Email queued.")
        return job
