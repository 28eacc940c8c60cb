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
    ("GET", "/api/v1/jobs/{job_id}"): ("job", None),
    ("GET", "/api/v1/jobs/{job_id}/events"): ("job", None),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): ("job", None),
    ("POST", "/api/v1/jobs/{job_id}/retry"): ("finished_job", None),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", None),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", {"enabled": False}),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", None),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): ("endpoint", None),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/deliveries"): ("endpoint", None),
    ("GET", "/api/v1/webhook-deliveries/{delivery_id}"): ("delivery", None),
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): ("delivery", None),
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
}

# API5: operations a member may use although others on the same path are
# admin-only; every other operation that documents a 403 must refuse a member.
MEMBER_ALLOWED_WITH_403: set[tuple[str, str]] = {
    ("POST", "/api/v1/auth/register"),  # its 403 is "sign-up disabled", not a role check
}

# Audit (item 2): every state-changing operation -> the audit action it writes.
# `None` marks an exemption; the reason is in docs/SECURITY.md.
AUDITED: dict[tuple[str, str], str | None] = {
    ("POST", "/api/v1/auth/register"): "tenant.registered",
    ("POST", "/api/v1/auth/login"): "user.login",
    ("POST", "/api/v1/auth/refresh"): None,  # routine token rotation; reuse is logged as a warning
    ("POST", "/api/v1/auth/logout"): "user.logout",
    ("POST", "/api/v1/users"): "user.created",
    ("PATCH", "/api/v1/users/{user_id}"): "user.updated",
    ("DELETE", "/api/v1/users/{user_id}"): "user.deleted",
    ("POST", "/api/v1/api-keys"): "api_key.created",
    ("DELETE", "/api/v1/api-keys/{key_id}"): "api_key.revoked",
    ("POST", "/api/v1/jobs"): "job.created",
    ("POST", "/api/v1/jobs/{job_id}/cancel"): "job.cancelled",
    ("POST", "/api/v1/jobs/{job_id}/retry"): "job.retried",
    ("POST", "/api/v1/webhook-endpoints"): "webhook_endpoint.created",
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.updated",
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoint.deleted",
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): "webhook_endpoint.secret_rotated",
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): "webhook_delivery.replayed",
    ("POST", "/api/v1/emails"): "email.queued",
}
