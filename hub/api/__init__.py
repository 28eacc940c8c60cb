"""HTTP resources: one folder per resource with routes.py and schemas.py."""
from __future__ import annotations

from flask import Flask

from hub.errors import HubApi

API_PREFIX = "/api/v1"

api = HubApi(spec_kwargs={
    "info": {"description": "Integration hub: accounts, jobs and integrations. "
                            "Every response is the JSON envelope described in docs/API.md, "
                            "the hub's API reference in its repository, which also covers "
                            "the real-time (Socket.IO) events. "
                            "Text fields may not contain NUL (U+0000); unknown fields and "
                            "query parameters are rejected with 422."},
})


def register_blueprints(app: Flask) -> None:
    """Bind the smorest Api and register every resource."""
    from hub.api.access import SECURITY_SCHEMES
    from hub.api.api_keys.routes import blp as api_keys_blp
    from hub.api.audit.routes import blp as audit_blp
    from hub.api.auth import lifecycle  # noqa: F401  (its routes join the auth blueprint)
    from hub.api.auth.routes import blp as auth_blp
    from hub.api.connections.routes import connections_blp, connectors_blp, document_connectors
    from hub.api.demo_source import routes as demo_source
    from hub.api.docs import blp as swagger_ui_blp
    from hub.api.emails.routes import blp as emails_blp
    from hub.api.files.routes import blp as files_blp
    from hub.api.health.routes import blp as health_blp
    from hub.api.invitations.routes import blp as invitations_blp
    from hub.api.jobs.routes import blp as jobs_blp
    from hub.api.jobs.routes import document_job_types
    from hub.api.operations.routes import blp as operations_blp
    from hub.api.payments.routes import invoices_blp, payments_blp
    from hub.api.payments.webhook import blp as stripe_webhook_blp
    from hub.api.realtime.routes import blp as realtime_blp
    from hub.api.users.routes import blp as users_blp
    from hub.api.webhooks.routes import deliveries_blp, endpoints_blp

    api.init_app(app)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for blp in (auth_blp, users_blp, invitations_blp, api_keys_blp, audit_blp, jobs_blp, emails_blp,
                files_blp, endpoints_blp, deliveries_blp, invoices_blp, payments_blp,
                stripe_webhook_blp, realtime_blp, operations_blp):
        api.register_blueprint(blp, url_prefix=API_PREFIX + blp.url_prefix)
    api.register_blueprint(health_blp)
    for blp in (connectors_blp, connections_blp):
        api.register_blueprint(blp, url_prefix=API_PREFIX + blp.url_prefix)
    demo_source.register(app)
    app.register_blueprint(swagger_ui_blp)
    document_job_types(api.spec)
    document_connectors(api.spec)
