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

# API5: who may call each operation, written from docs/API.md, not read from the code or
# the OpenAPI document (the test checks the document against this, both ways):
#   anyone      no login (sign-up, login, mailed links, Stripe's signed webhook, probes)
#   user        a user's token only: an API key is 401 (the caller's own session)
#   member      any role of the tenant, by token or API key
#   admin       owner or admin, by token or admin API key; a member is 403
#   admin-user  owner or admin by token only; a member is 403, any API key 401 (keys mint no keys)
#   staff       hub staff by token only; a tenant's owner is 403, any API key 401
#   signed-url  no login: a URL the hub signed (direct uploads)
ROLE_NEEDED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/register"): "anyone",
    ("POST", "/api/v1/auth/login"): "anyone",
    ("POST", "/api/v1/auth/refresh"): "user",
    ("POST", "/api/v1/auth/logout"): "user",
    ("POST", "/api/v1/auth/password"): "user",
    ("GET", "/api/v1/auth/me"): "user",
    ("POST", "/api/v1/auth/password-reset"): "anyone",
    ("POST", "/api/v1/auth/password-reset/confirm"): "anyone",
    ("POST", "/api/v1/auth/verify-email"): "anyone",
    ("POST", "/api/v1/auth/verify-email/resend"): "anyone",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("GET", "/api/v1/users/{user_id}"): "admin",
    ("PATCH", "/api/v1/users/{user_id}"): "admin",
    ("DELETE", "/api/v1/users/{user_id}"): "admin",
    ("GET", "/api/v1/invitations"): "admin-user",
    ("POST", "/api/v1/invitations"): "admin-user",
    ("DELETE", "/api/v1/invitations/{invitation_id}"): "admin-user",
    ("POST", "/api/v1/invitations/accept"): "anyone",
    ("GET", "/api/v1/api-keys"): "admin-user",
    ("POST", "/api/v1/api-keys"): "admin-user",
    ("DELETE", "/api/v1/api-keys/{key_id}"): "admin-user",
    ("GET", "/api/v1/audit-events"): "admin",
    ("GET", "/api/v1/jobs/types"): "member",
    ("GET", "/api/v1/jobs"): "member",
    ("POST", "/api/v1/jobs"): "member",
    ("POST", "/api/v1/jobs/batch"): "member",
    ("GET", "/api/v1/jobs/{job_id}"): "member",
    ("GET", "/api/v1/jobs/{job_id}/events"): "member",
    ("POST", "/api/v1/jobs/{job_id}/cancel"): "member",
    ("POST", "/api/v1/jobs/{job_id}/retry"): "member",
    ("GET", "/api/v1/emails/templates"): "member",
    ("POST", "/api/v1/emails"): "member",
    ("GET", "/api/v1/files"): "member",
    ("POST", "/api/v1/files"): "member",
    ("POST", "/api/v1/files/presign"): "member",
    ("PUT", "/api/v1/files/{file_id}/content"): "signed-url",
    ("POST", "/api/v1/files/{file_id}/complete"): "member",
    ("GET", "/api/v1/files/{file_id}"): "member",
    ("DELETE", "/api/v1/files/{file_id}"): "member",
    ("GET", "/api/v1/files/{file_id}/download"): "member",
    ("GET", "/api/v1/files/{file_id}/thumbnail"): "member",
    ("GET", "/api/v1/webhook-endpoints"): "admin",
    ("POST", "/api/v1/webhook-endpoints"): "admin",
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): "admin",
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): "admin",
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): "admin",
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): "admin",
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/test"): "admin",
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): "admin",
    ("GET", "/api/v1/webhook-deliveries/{delivery_id}"): "admin",
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): "admin",
    ("GET", "/api/v1/invoices"): "member",
    ("POST", "/api/v1/invoices"): "member",
    ("GET", "/api/v1/invoices/{invoice_id}"): "member",
    ("GET", "/api/v1/payments/reconciliations"): "member",
    ("POST", "/api/v1/payments/reconciliations"): "member",
    ("GET", "/api/v1/payments/reconciliations/{rec_id}"): "member",
    ("POST", "/api/v1/payments/customers"): "admin",
    ("GET", "/api/v1/payments/stripe-links"): "admin",
    ("POST", "/api/v1/payments/stripe-links"): "admin",
    ("DELETE", "/api/v1/payments/stripe-links/{link_id}"): "admin",
    ("POST", "/api/v1/webhooks/stripe"): "anyone",
    ("GET", "/api/v1/realtime"): "anyone",
    ("GET", "/health/live"): "anyone",
    ("GET", "/health/ready"): "anyone",
    ("GET", "/api/v1/connectors"): "member",
    ("GET", "/api/v1/connections"): "member",
    ("POST", "/api/v1/connections"): "admin",
    ("GET", "/api/v1/connections/{connection_id}"): "member",
    ("PATCH", "/api/v1/connections/{connection_id}"): "admin",
    ("DELETE", "/api/v1/connections/{connection_id}"): "admin",
    ("POST", "/api/v1/connections/{connection_id}/sync"): "admin",
    ("GET", "/api/v1/connections/{connection_id}/records"): "member",
    ("GET", "/api/v1/operations/jobs"): "staff",
    ("GET", "/api/v1/operations/failed-jobs"): "staff",
    ("GET", "/api/v1/operations/stuck-jobs"): "staff",
    ("POST", "/api/v1/operations/jobs/retry"): "staff",
    ("POST", "/api/v1/operations/jobs/cancel"): "staff",
}
# Operations that document a 403 for a reason other than the caller's role.
FORBIDDEN_FOR_OTHER_REASONS: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/register"): "sign-up is turned off",
    ("POST", "/api/v1/auth/login"): "the email is not confirmed yet",
    ("PUT", "/api/v1/files/{file_id}/content"): "the signed URL is not valid",
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
