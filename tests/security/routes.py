"""The route tables the OWASP tests are driven by; one more entry per new route.

Tests walk the OpenAPI document and fail when an operation is missing here, so a
new resource cannot ship without its BOLA, authorization and audit cases.
"""
from __future__ import annotations

# API1 (BOLA): every operation with an id in its path -> (which object of the
# victim tenant the id is, a valid body). The attacker is an admin of another
# tenant, so a 403 cannot hide a missing tenant check: it must be 404.
BOLA: dict[tuple[str, str], tuple[str, dict | None]] = {
    ("GET", "/api/v1/users/{user_id}"): ("user", None),
    ("PATCH", "/api/v1/users/{user_id}"): ("user", {"name": "Pwned"}),
    ("DELETE", "/api/v1/users/{user_id}"): ("user", None),
    ("DELETE", "/api/v1/api-keys/{key_id}"): ("api_key", None),
    ("DELETE", "/api/v1/invitations/{invitation_id}"): ("invitation", None),
    ("GET", "/api/v1/jobs/{job_id}"): ("job", None),
    ("GET", "/api/v1/jobs/{job_id}/events"): ("job", None),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): ("job", None),
    ("POST", "/api/v1/jobs/{job_id}/retry"): ("finished_job", None),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", None),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", {"enabled": False}),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", None),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): ("endpoint", None),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/test"): ("endpoint", None),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): ("endpoint", None),
    ("GET", "/api/v1/webhook-deliveries/{delivery_id}"): ("delivery", None),
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): ("delivery", None),
    ("GET", "/api/v1/files/{file_id}"): ("file", None),
    ("DELETE", "/api/v1/files/{file_id}"): ("file", None),
    ("GET", "/api/v1/files/{file_id}/download"): ("file", None),
    # The victim's file has no thumbnail (no worker processed it): the owner gets 404 too,
    # so this case shows only that the route does not answer differently for a stranger.
    ("GET", "/api/v1/files/{file_id}/thumbnail"): ("file", None),
    ("POST", "/api/v1/files/{file_id}/complete"): ("pending_file", None),
    ("GET", "/api/v1/invoices/{invoice_id}"): ("invoice", None),
    ("GET", "/api/v1/payments/reconciliations/{rec_id}"): ("reconciliation", None),
    ("DELETE", "/api/v1/payments/stripe-links/{link_id}"): ("stripe_link", None),
    ("GET", "/api/v1/connections/{connection_id}"): ("connection", None),
    ("PATCH", "/api/v1/connections/{connection_id}"): ("connection", {"name": "Pwned"}),
    ("DELETE", "/api/v1/connections/{connection_id}"): ("connection", None),
    ("POST", "/api/v1/connections/{connection_id}/sync"): ("connection", None),
    ("GET", "/api/v1/connections/{connection_id}/records"): ("connection", None),
}
# Routes authorised by a signed URL instead of a login: -> the object kind. The
# attacker's own valid URL aimed at the victim's id must be refused (403).
SIGNED_URL_ROUTES: dict[tuple[str, str], str] = {
    ("PUT", "/api/v1/files/{file_id}/content"): "pending_file",
}
# Objects reached through a route of another kind (an email is a job).
BOLA_EXTRA = [("GET", "/api/v1/jobs/{job_id}", "email_job"),
              ("POST", "/api/v1/jobs/{job_id}/cancel", "email_job")]

# How the victim's owner reads each object back, to prove an attack changed nothing.
READ_BACK = {
    "user": "/api/v1/users/{id}",
    "job": "/api/v1/jobs/{id}",
    "finished_job": "/api/v1/jobs/{id}",
    "email_job": "/api/v1/jobs/{id}",
    "endpoint": "/api/v1/webhook-endpoints/{id}",
    "delivery": "/api/v1/webhook-deliveries/{id}",
    "file": "/api/v1/files/{id}",
    "pending_file": "/api/v1/files/{id}",
    "invoice": "/api/v1/invoices/{id}",
    "reconciliation": "/api/v1/payments/reconciliations/{id}",
    "connection": "/api/v1/connections/{id}",
}

# API5: operations a member may use although others on the same path are
# admin-only; every other operation that documents a 403 must refuse a member.
MEMBER_ALLOWED_WITH_403: set[tuple[str, str]] = {
    ("POST", "/api/v1/auth/register"),  # its 403 is "sign-up disabled", not a role check
    ("POST", "/api/v1/auth/login"),  # its 403 is "confirm your email first", not a role check
    ("PUT", "/api/v1/files/{file_id}/content"),  # its 403 is a bad signed URL, not a role check
}

# Audit (item 2): every state-changing operation -> the audit action it writes.
# `None` marks an exemption; the reason is in docs/SECURITY.md.
AUDITED: dict[tuple[str, str], str | None] = {
    ("POST", "/api/v1/auth/register"): "tenant.registered",
    ("POST", "/api/v1/auth/login"): "user.login",
    ("POST", "/api/v1/auth/refresh"): None,  # routine token rotation; reuse is logged as a warning
    ("POST", "/api/v1/auth/logout"): "user.logout",
    ("POST", "/api/v1/auth/password"): "user.password_changed",
    ("POST", "/api/v1/auth/password-reset"): "user.password_reset_requested",
    ("POST", "/api/v1/auth/password-reset/confirm"): "user.password_reset",
    ("POST", "/api/v1/auth/verify-email/resend"): "user.verification_resent",
    ("POST", "/api/v1/auth/verify-email"): "user.email_verified",
    ("POST", "/api/v1/invitations"): "invitation.created",
    ("DELETE", "/api/v1/invitations/{invitation_id}"): "invitation.revoked",
    ("POST", "/api/v1/invitations/accept"): "invitation.accepted",
    ("POST", "/api/v1/users"): "user.created",
    ("PATCH", "/api/v1/users/{user_id}"): "user.updated",
    ("DELETE", "/api/v1/users/{user_id}"): "user.deleted",
    ("POST", "/api/v1/api-keys"): "api_key.created",
    ("DELETE", "/api/v1/api-keys/{key_id}"): "api_key.revoked",
    ("POST", "/api/v1/jobs"): "job.created",
    ("POST", "/api/v1/jobs/batch"): "job.batch_created",
    ("POST", "/api/v1/jobs/{job_id}/cancel"): "job.cancelled",
    ("POST", "/api/v1/jobs/{job_id}/retry"): "job.retried",
    ("POST", "/api/v1/operations/jobs/retry"): "jobs.bulk_retried",
    ("POST", "/api/v1/operations/jobs/cancel"): "jobs.bulk_cancelled",
    ("POST", "/api/v1/webhook-endpoints"): "webhook_endpoint.created",
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.updated",
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.deleted",
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): "webhook_endpoint.secret_rotated",
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/test"): "webhook_endpoint.tested",
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): "webhook_delivery.replayed",
    ("POST", "/api/v1/emails"): "email.queued",
    ("POST", "/api/v1/files"): "file.uploaded",
    ("POST", "/api/v1/files/presign"): "file.presigned",
    ("PUT", "/api/v1/files/{file_id}/content"): "file.received",
    ("POST", "/api/v1/files/{file_id}/complete"): "file.uploaded",
    ("DELETE", "/api/v1/files/{file_id}"): "file.deleted",
    ("POST", "/api/v1/invoices"): "invoice.created",
    ("POST", "/api/v1/payments/reconciliations"): "reconciliation.requested",
    ("POST", "/api/v1/payments/stripe-links"): "stripe_link.created",
    ("POST", "/api/v1/payments/customers"): "stripe_customer.created",
    ("DELETE", "/api/v1/payments/stripe-links/{link_id}"): "stripe_link.deleted",
    ("POST", "/api/v1/connections"): "connection.created",
    ("PATCH", "/api/v1/connections/{connection_id}"): "connection.updated",
    ("DELETE", "/api/v1/connections/{connection_id}"): "connection.deleted",
    ("POST", "/api/v1/connections/{connection_id}/sync"): "connection.sync_requested",
    # Stripe's call, not a user's: the event inbox (stripe_events) is its record, and
    # what applying it changes is done by a job.
    ("POST", "/api/v1/webhooks/stripe"): None,
}
