"""Every state-changing API call writes an audit event: actor, tenant, action, object, request id.

The test walks the OpenAPI document for POST/PUT/PATCH/DELETE under /api/v1, makes one
successful call of each (the table below says how), and looks the event up by the call's
request id. A new operation fails `test_every_write_operation_is_in_the_table` until it is
added here and to AUDITED in routes.py.
"""
from __future__ import annotations

import io
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from hub.extensions import db
from hub.models import AuditEvent, Job
from tests.payments.conftest import event_body, sign
from tests.security.conftest import HOOK_URL, SOURCE_URL, operations
from tests.security.routes import AUDITED
from tests.support.helpers import PASSWORD


def _new_email() -> str:
    return f"a-{uuid.uuid4().hex[:8]}@example.com"


def _by_owner(method: str, template: str, obj: str | None, body: Any = None):
    """A call by the tenant's owner; `obj` names the object in `t.ids` whose id fills the
    path and which the event must name ("created": the new object; None: not checked)."""
    def call(t, c):
        path = re.sub(r"\{\w+_id\}", lambda _m: t.ids[obj], template)
        payload = body() if callable(body) else body
        resp = t.owner.client.open(path, method=method, headers=t.owner.headers,
                                   **({"json": payload} if payload is not None else {}))
        return resp, t.owner.user["id"], t.ids.get(obj, obj)
    return call


# (method, path) -> (object, body) of a call by the owner (see _by_owner).
BY_OWNER: dict[tuple[str, str], tuple[str | None, Any]] = {
    ("POST", "/api/v1/users"): ("created", lambda: {"email": _new_email(), "name": "U",
                                                    "password": PASSWORD}),
    ("PATCH", "/api/v1/users/{user_id}"): ("user", {"name": "Renamed"}),
    ("DELETE", "/api/v1/users/{user_id}"): ("user", None),
    ("POST", "/api/v1/api-keys"): ("created", {"name": "k"}),
    ("POST", "/api/v1/invitations"): ("created", lambda: {"email": _new_email()}),
    ("DELETE", "/api/v1/invitations/{invitation_id}"): ("invitation", None),
    ("DELETE", "/api/v1/api-keys/{key_id}"): ("api_key", None),
    ("POST", "/api/v1/jobs"): ("created", {"type": "demo.sleep", "payload": {"seconds": 0}}),
    # One event names the whole batch (its job ids in the details), not one object.
    ("POST", "/api/v1/jobs/batch"): (None, {"jobs": [{"type": "demo.sleep", "payload": {"seconds": 0}}]}),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): ("job", None),
    ("POST", "/api/v1/jobs/{job_id}/retry"): ("finished_job", None),
    ("POST", "/api/v1/webhook-endpoints"): ("created", {"url": HOOK_URL, "events": ["job.failed"]}),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", {"description": "d"}),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): ("endpoint", None),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): ("endpoint", None),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/test"): ("endpoint", None),
    ("POST", "/api/v1/webhook-deliveries/{delivery_id}/replay"): ("delivery", None),
    ("POST", "/api/v1/emails"): ("created", {"to": ["a@example.com"], "subject": "s", "text": "t"}),
    ("POST", "/api/v1/files/presign"): (None, {"filename": "d.txt", "content_type": "text/plain", "size": 2}),
    ("POST", "/api/v1/files/{file_id}/complete"): ("pending_file", None),
    ("DELETE", "/api/v1/files/{file_id}"): ("file", None),
    ("POST", "/api/v1/invoices"): ("created", lambda: {
        "number": "INV-" + uuid.uuid4().hex[:6], "customer_ref": "c", "amount": 10, "currency": "usd",
        "due_date": "2026-12-01"}),
    ("POST", "/api/v1/payments/reconciliations"): (None, {"from": "2026-10-01T00:00:00Z",
                                                          "to": "2026-10-02T00:00:00Z"}),
    ("POST", "/api/v1/payments/customers"): ("created", {"name": "A customer"}),
    ("DELETE", "/api/v1/payments/stripe-links/{link_id}"): ("stripe_link", None),
    ("POST", "/api/v1/connections"): ("created", {"connector": "rest", "name": "Another",
                                                  "config": {"url": SOURCE_URL}}),
    ("PATCH", "/api/v1/connections/{connection_id}"): ("connection", {"name": "Renamed"}),
    ("POST", "/api/v1/connections/{connection_id}/sync"): ("connection", None),
    ("DELETE", "/api/v1/connections/{connection_id}"): ("connection", None),
}

# (method, path) -> call(t, client) returning (response, expected actor user id, object id or None)
CALLS = {
    ("POST", "/api/v1/auth/register"): lambda t, c: (c.post("/api/v1/auth/register", json={
        "tenant_name": "New", "name": "N", "email": _new_email(), "password": PASSWORD}), "new", None),
    ("POST", "/api/v1/auth/login"): lambda t, c: (c.post("/api/v1/auth/login", json={
        "email": t.owner.email, "password": PASSWORD}), t.owner.user["id"], t.owner.user["id"]),
    ("POST", "/api/v1/auth/refresh"): lambda t, c: (c.post("/api/v1/auth/refresh", headers={
        "Authorization": f"Bearer {t.owner.refresh}"}), None, None),
    ("POST", "/api/v1/auth/logout"): lambda t, c: (t.member.post("/api/v1/auth/logout"),
                                                    t.member.user["id"], t.member.user["id"]),
    # The owner's own session stays, so the calls after this one still work.
    ("POST", "/api/v1/auth/password"): lambda t, c: (t.owner.post("/api/v1/auth/password", json={
        "current_password": PASSWORD, "new_password": "another horse, battery and staple"}),
        t.owner.user["id"], t.owner.user["id"]),
    ("POST", "/api/v1/files"): lambda t, c: (t.owner.post("/api/v1/files", data={
        "file": (io.BytesIO(b"x,y\n"), "c.csv", "text/csv")}, content_type="multipart/form-data"),
        t.owner.user["id"], "created"),
    ("PUT", "/api/v1/files/{file_id}/content"): lambda t, c: (c.put(
        _local(t.secrets["upload_url"]), data=b"world\n", content_type="text/plain"),
        t.owner.user["id"], t.ids["pending_file"]),
    ("POST", "/api/v1/webhooks/stripe"): lambda t, c: (_stripe_event(c), None, None),
    ("POST", "/api/v1/auth/password-reset"): lambda t, c: (c.post(
        "/api/v1/auth/password-reset", json={"email": t.member.email}),
        t.member.user["id"], t.member.user["id"]),
    ("POST", "/api/v1/auth/password-reset/confirm"): lambda t, c: (c.post(
        "/api/v1/auth/password-reset/confirm", json={
            "token": _mailed_token(c, "/api/v1/auth/password-reset", t.member.email, "reset_url"),
            "password": "another horse, battery and staple"}), t.member.user["id"], t.member.user["id"]),
    # The owner signed up with verification off: their address is not confirmed yet.
    ("POST", "/api/v1/auth/verify-email/resend"): lambda t, c: (c.post(
        "/api/v1/auth/verify-email/resend", json={"email": t.owner.email}),
        t.owner.user["id"], t.owner.user["id"]),
    ("POST", "/api/v1/auth/verify-email"): lambda t, c: (c.post("/api/v1/auth/verify-email", json={
        "token": _mailed_token(c, "/api/v1/auth/verify-email/resend", t.owner.email, "verify_url")}),
        t.owner.user["id"], t.owner.user["id"]),
    ("POST", "/api/v1/invitations/accept"): lambda t, c: (c.post("/api/v1/invitations/accept", json={
        "token": _invitation_token(c, t), "name": "Ivy", "password": "another horse, battery and staple"}),
        "new", None),
    ("POST", "/api/v1/payments/stripe-links"): lambda t, c: (t.owner.post(
        "/api/v1/payments/stripe-links", json={"kind": "customer", "stripe_id": _proven_customer(c, t)}),
        t.owner.user["id"], "created"),
    **{(m, p): _by_owner(m, p, obj, body) for (m, p), (obj, body) in BY_OWNER.items()},
    # After the single-job calls above, which need their jobs as they are.
    ("POST", "/api/v1/operations/jobs/retry"): lambda t, c: _bulk_as_staff(t, c, "retry"),
    ("POST", "/api/v1/operations/jobs/cancel"): lambda t, c: _bulk_as_staff(t, c, "cancel"),
}


def _bulk_as_staff(t, client, action: str):
    """The owner, made hub staff, acts on its own tenant's jobs by filter (dry run, then real)."""
    from hub.models import User

    with client.application.app_context():
        db.session.get(User, uuid.UUID(t.owner.user["id"])).is_staff = True
        db.session.commit()
    path, body = f"/api/v1/operations/jobs/{action}", {"filter": {"tenant_id": t.tenant_id}}
    dry = t.owner.post(path, json=body).get_json()["data"]
    return (t.owner.post(path, json={**body, "dry_run": False, "expected": dry["selected"]}),
            t.owner.user["id"], None)


def _mailed_token(client, ask: str, email: str, link: str) -> str:
    """Ask the hub to mail a link to `email`, and take its token from the queued mail."""
    assert client.post(ask, json={"email": email}).status_code == 202
    with client.application.app_context():
        mail = db.session.scalars(select(Job).where(Job.type == "email.send")
                                  .order_by(Job.created_at.desc())).first()
        url = mail.payload["context"][link]
    assert email in mail.payload["to"]
    return url.rsplit("token=", 1)[1]


def _invitation_token(client, t) -> str:
    email = _new_email()
    assert t.owner.post("/api/v1/invitations", json={"email": email}).status_code == 201
    with client.application.app_context():
        mail = db.session.scalars(select(Job).where(Job.type == "email.send")
                                  .order_by(Job.created_at.desc())).first()
        assert email in mail.payload["to"]
        return mail.payload["context"]["accept_url"].rsplit("token=", 1)[1]


def _proven_customer(client, t) -> str:
    """A Stripe customer whose metadata names the tenant, made the way a tenant would in Stripe."""
    from hub.integrations import stripe_api
    from hub.services.payments import stripe_settings

    with client.application.app_context():
        return stripe_api.create_customer(stripe_settings.current(),
                                          metadata={"hub_tenant_id": t.tenant_id})["id"]


def _local(url: str) -> str:
    """The path and query of an absolute upload URL, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _stripe_event(client):
    body = event_body("customer.created", {"id": "cus_" + uuid.uuid4().hex[:12], "object": "customer"})
    return client.post("/api/v1/webhooks/stripe", data=body, content_type="application/json",
                       headers={"Stripe-Signature": sign(body)})


def _writes(openapi):
    return {(m, p) for m, p, _op in operations(openapi) if m in ("POST", "PUT", "PATCH", "DELETE")}


def test_every_write_operation_is_in_the_table(openapi):
    writes = _writes(openapi)
    assert writes - set(CALLS) == set(), "add a call for these to CALLS"
    assert writes - set(AUDITED) == set(), "add these to AUDITED in tests/security/routes.py"


def test_every_write_leaves_an_audit_event_with_its_request_id(app, client, tenant, openapi):
    missing = []
    # Deletions last: the other calls need the objects they remove.
    for (method, path), call in sorted(CALLS.items(), key=lambda item: item[0][0] == "DELETE"):
        action = AUDITED[(method, path)]
        request_id = f"audit-{uuid.uuid4().hex}"
        client.environ_base["HTTP_X_REQUEST_ID"] = request_id
        try:
            resp, actor, object_id = call(tenant, client)
        finally:
            client.environ_base.pop("HTTP_X_REQUEST_ID", None)
        assert resp.status_code < 300, (method, path, resp.get_json())
        assert resp.headers["X-Request-ID"] == request_id
        with app.app_context():
            events = db.session.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id)).all()
            if action is None:
                assert events == [], (method, path)  # an exemption must stay honest
                continue
            matching = [e for e in events if e.action == action]
            if not matching:
                missing.append((method, path, action, [e.action for e in events]))
                continue
            event = matching[0]
            data = (resp.get_json() or {}).get("data") or {}
            if object_id == "created":
                object_id = data.get("id")
            if object_id is not None:
                assert event.object_id == object_id, (method, path, event.object_id)
            if actor == "new":
                actor = data["user"]["id"]
                assert str(event.tenant_id) == data["user"]["tenant_id"]
            else:
                assert str(event.tenant_id) == tenant.tenant_id, (method, path)
            assert str(event.actor_user_id) == actor, (method, path)
            assert event.object_type and event.ip, (method, path)
    assert missing == [], f"writes without an audit event: {missing}"


def test_an_api_key_is_recorded_as_the_actor(app, client, tenant):
    key = tenant.secrets["api_key"]
    resp = client.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {"seconds": 0}},
                       headers={"X-API-Key": key, "X-Request-ID": "by-key-1"})
    assert resp.status_code == 202
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.request_id == "by-key-1")).one()
        assert str(event.actor_api_key_id) == tenant.ids["api_key"] and event.actor_user_id is None
        assert event.action == "job.created"


def test_a_refused_change_leaves_no_audit_event(app, tenant):
    job = tenant.ids["finished_job"]  # cancelled already: a second cancel is a 409
    resp = tenant.owner.post(f"/api/v1/jobs/{job}/cancel", headers={"X-Request-ID": "refused-1"})
    assert resp.status_code == 409
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.request_id == "refused-1")).all() == []
