"""Schemathesis against the hub's own OpenAPI document, authenticated, every operation.

Requests go over HTTP to the hub under gunicorn. Positive and negative data;
every response must be a documented status with a body matching its documented
schema, and never a server error. Bounded here
(HUB_FUZZ_EXAMPLES, default 10 per operation) to fit CI; `make fuzz` runs more.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance
from schemathesis.config import CheckConfig
from schemathesis.core.parameters import ParameterLocation

from hub import create_app
from tests.support.processes import WebHub

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "10"))
# 503 is a documented answer here: /health/ready while no worker runs (none does).
# Stripe is configured (a fake on loopback), so the payment operations are fuzzed too.
SERVER_ERRORS_DOCUMENTED = ("/health/ready",)
# Bodies whose validity depends on more than their JSON schema can say: webhook URLs
# are resolved and refused when they point at metadata or reserved addresses, and an
# email's context must match its template and the two message forms exclude each
# other. Generated "valid" bodies are often refused there (422, as documented), so
# for these operations only the check that schema-valid data is accepted is off;
# server errors, response schemas and the rejection of invalid data still apply.
# Likewise uploads (form fields are JSON text checked on arrival), presigned uploads
# (names and types sanitised), invoices (ISO currencies), Stripe links (id
# prefixes per kind, and proof of ownership), reconciliations (a period that ends
# after it starts), Stripe customers (emails as Stripe reads them), jobs (`run_at`
# at most a year from now, which a schema cannot say; a batch's size is a setting,
# JOB_BATCH_MAX), new passwords (refused
# when easy to guess, which no schema can say), and the mailed links' tokens
# (a generated token is no link the hub sent: 400 as documented).
SEMANTIC_BODIES = {("POST", "/api/v1/jobs"), ("POST", "/api/v1/jobs/batch"), ("POST", "/api/v1/emails"),
                   ("POST", "/api/v1/webhook-endpoints"),
                   ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"), ("POST", "/api/v1/files"),
                   ("POST", "/api/v1/files/presign"), ("POST", "/api/v1/invoices"),
                   ("POST", "/api/v1/payments/stripe-links"), ("POST", "/api/v1/payments/customers"),
                   ("POST", "/api/v1/payments/reconciliations"),
                   ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/users"),
                   ("PATCH", "/api/v1/users/{user_id}"), ("POST", "/api/v1/auth/password"),
                   ("POST", "/api/v1/auth/password-reset/confirm"), ("POST", "/api/v1/auth/verify-email"),
                   ("POST", "/api/v1/invitations/accept")}


def _document() -> dict:
    """The OpenAPI document, from an app that is built but never connects anywhere."""
    offline = create_app({"HUB_ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                          "REDIS_URL": "redis://127.0.0.1:1/0", "LOG_LEVEL": "WARNING"})
    return offline.test_client().get("/openapi.json").get_json()


# Logging out would revoke the token that the rest of the examples use. Stripe's
# webhook takes no token but a signature over the raw body; tests/payments covers it.
schema = (schemathesis.openapi.from_dict(_document())
          .exclude(path="/api/v1/auth/logout")
          .exclude(path="/api/v1/webhooks/stripe"))
# The API refuses NUL in text (PostgreSQL cannot store it), as its description says;
# that refusal is tested in tests/web/test_envelope.py.
schema.config.generation.update(allow_x00=False)
# Invalid data may also be refused by gunicorn itself before the app sees it: a request
# line over `limit_request_line` (414) or headers over their limits (431), answered in
# the error envelope (hub/web/httpserver.py). Those are rejections like any 4xx.
_rejections = schema.config.checks.negative_data_rejection
schema.config.checks.negative_data_rejection = CheckConfig(
    expected_statuses=[*_rejections.expected_statuses, "414", "431"])


@pytest.fixture(scope="module")
def fuzz_stripe():
    """Stripe for the payment operations: the wire-format fake the payments tests use."""
    from fake_stripe import FakeStripe

    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="module")
def module_live_server(app, base_config, process_logs, fuzz_stripe):
    """The hub (gunicorn and its realtime process) with Stripe pointed at the fake."""
    from tests.payments.conftest import WEBHOOK_SECRET

    stripe = {"STRIPE_API_KEY": fuzz_stripe.api_key, "STRIPE_API_BASE": fuzz_stripe.url,
              "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_MAX_NETWORK_RETRIES": 0}
    web = WebHub({**base_config, **stripe}, process_logs)
    yield web.url
    web.stop()


@pytest.fixture
def fuzz_account(register):
    return register()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(module_live_server, case, fuzz_account):
    # Authenticate as a real user; a generated X-API-Key would take precedence and be refused.
    # A case whose headers are meant to be invalid (a missing or malformed Authorization,
    # say) keeps them: the hub must refuse it, so no valid token is slipped in.
    generated = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
    headers_invalid = case.meta is not None and any(
        location == ParameterLocation.HEADER and info.mode.is_negative
        for location, info in case.meta.components.items())
    headers = generated if headers_invalid else {
        **generated, "Authorization": f"Bearer {fuzz_account.access}"}
    excluded = [not_a_server_error] if case.path.startswith(SERVER_ERRORS_DOCUMENTED) else []
    if (case.method.upper(), case.path) in SEMANTIC_BODIES:
        excluded.append(positive_data_acceptance)
    case.call_and_validate(base_url=module_live_server, headers=headers, excluded_checks=excluded)


def test_the_payment_operations_were_fuzzed_against_stripe(module_live_server, fuzz_stripe):
    """Runs after the cases above: the payment operations reached Stripe (the fake), so they
    were fuzzed past the 503 an unconfigured hub answers, with the server-error check on."""
    assert fuzz_stripe.request_count > 0
