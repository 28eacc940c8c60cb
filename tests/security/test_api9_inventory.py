"""API9:2023 Improper Inventory Management: the OpenAPI document is the inventory; every
route the app serves under /api/v1 is in it, and nothing in it is unserved."""
from __future__ import annotations

import re

from tests.security.conftest import operations


def _served(app) -> set[tuple[str, str]]:
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return served


def test_every_served_api_route_is_documented_and_vice_versa(app, openapi):
    documented = {(m, p) for m, p, _op in operations(openapi, prefix="/api/")}
    served = _served(app)
    assert served - documented == set(), "served but not in openapi.json"
    assert documented - served == set(), "documented but not served"
    assert len(served) >= 25


# Called without a login but authorised by a signature: -> (where it is, the refusal's status).
SIGNED = {("PUT", "/api/v1/files/{file_id}/content"): ("token", "403"),
          ("POST", "/api/v1/webhooks/stripe"): ("Stripe-Signature", "400")}


def test_every_operation_documents_its_auth_and_errors(openapi):
    public = {("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
              ("GET", "/api/v1/realtime"),
              # The mailed link (or the address it goes to) is the proof, not a login.
              ("POST", "/api/v1/auth/password-reset"), ("POST", "/api/v1/auth/password-reset/confirm"),
              ("POST", "/api/v1/auth/verify-email"), ("POST", "/api/v1/auth/verify-email/resend"),
              ("POST", "/api/v1/invitations/accept")}
    for method, path, op in operations(openapi):
        assert op.get("summary") or op.get("description"), (method, path)
        assert "default" in op["responses"], (method, path)
        if (method, path) in SIGNED:
            name, refusal = SIGNED[(method, path)]
            params = {p["name"]: p for p in op.get("parameters", [])}
            assert params.get(name, {}).get("required"), (method, path, name)
            assert refusal in op["responses"], (method, path)
        elif (method, path) not in public:
            assert op.get("security"), f"{method} {path} documents no security scheme"
            assert "401" in op["responses"], (method, path)


def test_only_v1_is_served(app):
    versions = {r.rule.split("/")[2] for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert versions == {"v1"}
