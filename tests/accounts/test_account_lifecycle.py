"""Forgot password, email verification and invitations, through the API.

The links are read from the mail the hub queued (the `email.send` job's rendered
context), which is what the recipient would click; tests/email covers the mail's
delivery over SMTP.
"""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.extensions import db
from hub.models import AccountToken, Job, utcnow
from tests.support.helpers import PASSWORD, Account, assert_error, auth_header

NEW_PASSWORD = "violet harbour lamps at nine"


def _mails(app, template: str, to: str) -> list[dict]:
    with app.app_context():
        jobs = db.session.scalars(select(Job).where(Job.type == "email.send")
                                  .order_by(Job.created_at)).all()
        return [j.payload["context"] for j in jobs
                if j.payload.get("template") == template and to in j.payload["to"]]


def _token(url: str) -> str:
    match = re.search(r"#/[a-z-]+\?token=([A-Za-z0-9_-]+)$", url)
    assert match, url
    return match.group(1)


def _login(client, email: str, password: str):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.fixture
def verification_on(app):
    """Call it to turn ACCOUNT_EMAIL_VERIFICATION on (after making the accounts a test needs)."""
    def turn_on() -> None:
        app.config["ACCOUNT_EMAIL_VERIFICATION"] = True
    yield turn_on
    app.config["ACCOUNT_EMAIL_VERIFICATION"] = False


# --- forgot password ------------------------------------------------------------

def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(app, client, register):
    owner = register()
    phone = Account(client, _login(client, owner.email, PASSWORD).get_json(), PASSWORD)
    resp = client.post("/api/v1/auth/password-reset", json={"email": owner.email.upper()})
    assert resp.status_code == 202 and resp.get_json()["data"] is None
    [mail] = _mails(app, "password_reset", owner.email)
    assert mail["reset_url"].startswith("http://localhost/console#/reset-password?token=")
    assert mail["expires_minutes"] == app.config["PASSWORD_RESET_TTL_MINUTES"]
    token = _token(mail["reset_url"])

    done = client.post("/api/v1/auth/password-reset/confirm",
                       json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200 and done.get_json()["data"] == {"sessions_ended": 2}
    for session in (owner, phone):
        assert client.get("/api/v1/auth/me", headers=session.headers).status_code == 401
    assert_error(_login(client, owner.email, PASSWORD), 401, "UNAUTHORIZED")
    assert _login(client, owner.email, NEW_PASSWORD).status_code == 200
    again = client.post("/api/v1/auth/password-reset/confirm",
                        json={"token": token, "password": "another violet harbour lamp"})
    body = assert_error(again, 400, "BAD_REQUEST")
    assert "ask for a new one" in body["message"]
    actions = [e["action"] for e in Account(client, _login(client, owner.email, NEW_PASSWORD)
                                            .get_json(), NEW_PASSWORD)
               .get("/api/v1/audit-events?per_page=100").get_json()["data"]]
    assert "user.password_reset_requested" in actions and "user.password_reset" in actions


def test_the_answer_is_the_same_for_an_unknown_address_and_nothing_is_sent(app, client, register):
    owner = register()
    known = client.post("/api/v1/auth/password-reset", json={"email": owner.email})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json()["message"] == unknown.get_json()["message"]
    assert _mails(app, "password_reset", "nobody@example.com") == []


def test_an_expired_or_replaced_reset_link_does_not_work(app, client, register):
    owner = register()
    client.post("/api/v1/auth/password-reset", json={"email": owner.email})
    client.post("/api/v1/auth/password-reset", json={"email": owner.email})
    first, second = (_token(m["reset_url"]) for m in _mails(app, "password_reset", owner.email))
    confirm = {"password": NEW_PASSWORD}
    assert_error(client.post("/api/v1/auth/password-reset/confirm", json={**confirm, "token": first}),
                 400, "BAD_REQUEST")
    with app.app_context():
        for row in db.session.scalars(select(AccountToken)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert_error(client.post("/api/v1/auth/password-reset/confirm", json={**confirm, "token": second}),
                 400, "BAD_REQUEST")


def test_a_weak_new_password_is_refused_and_the_link_still_works(app, client, register):
    owner = register()
    client.post("/api/v1/auth/password-reset", json={"email": owner.email})
    token = _token(_mails(app, "password_reset", owner.email)[0]["reset_url"])
    weak = client.post("/api/v1/auth/password-reset/confirm",
                       json={"token": token, "password": "password123"})
    assert_error(weak, 422, "VALIDATION_ERROR")
    ok = client.post("/api/v1/auth/password-reset/confirm",
                     json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 200


def test_reset_requests_per_address_are_limited(app, client, register):
    owner = register()
    app.config["ACCOUNT_EMAIL_RATE_LIMIT"] = "2 per hour"
    try:
        codes = [client.post("/api/v1/auth/password-reset", json={"email": owner.email}).status_code
                 for _ in range(3)]
    finally:
        app.config["ACCOUNT_EMAIL_RATE_LIMIT"] = "5 per hour"
    assert codes == [202, 202, 429]
    assert len(_mails(app, "password_reset", owner.email)) == 2


# --- email verification ---------------------------------------------------------

def test_with_verification_sign_up_answers_alike_and_login_waits_for_the_link(
        app, client, register, verification_on):
    taken = register()
    verification_on()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    body = {"tenant_name": "Verified Co", "name": "Vera", "password": PASSWORD}
    new = client.post("/api/v1/auth/register", json={**body, "email": email})
    again = client.post("/api/v1/auth/register", json={**body, "email": taken.email})
    assert new.status_code == again.status_code == 202
    assert new.get_json()["data"] == again.get_json()["data"] == {"verification_required": True}
    assert new.get_json()["message"] == again.get_json()["message"]
    assert _mails(app, "account_exists", taken.email)  # the owner of the taken address is told
    assert_error(_login(client, email, PASSWORD), 403, "FORBIDDEN")

    [mail] = _mails(app, "email_verification", email)
    verified = client.post("/api/v1/auth/verify-email", json={"token": _token(mail["verify_url"])})
    assert verified.status_code == 200
    session = verified.get_json()["data"]
    assert session["user"]["email"] == email
    assert client.get("/api/v1/auth/me", headers=auth_header(session["access_token"])).status_code == 200
    assert _login(client, email, PASSWORD).status_code == 200


def test_another_confirmation_link_replaces_the_first(app, client, verification_on):
    verification_on()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    client.post("/api/v1/auth/register", json={"tenant_name": "R", "name": "R", "email": email,
                                                "password": PASSWORD})
    resent = client.post("/api/v1/auth/verify-email/resend", json={"email": email})
    unknown = client.post("/api/v1/auth/verify-email/resend", json={"email": "nobody@example.com"})
    assert resent.status_code == unknown.status_code == 202
    first, second = (_token(m["verify_url"]) for m in _mails(app, "email_verification", email))
    assert_error(client.post("/api/v1/auth/verify-email", json={"token": first}), 400, "BAD_REQUEST")
    assert client.post("/api/v1/auth/verify-email", json={"token": second}).status_code == 200


def test_without_verification_sign_up_logs_in_at_once(client):
    resp = client.post("/api/v1/auth/register", json={
        "tenant_name": "Dev Co", "name": "D", "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD})
    assert resp.status_code == 201 and resp.get_json()["data"]["access_token"]


# --- invitations ----------------------------------------------------------------

def test_an_admin_invites_and_the_invitee_joins_with_the_role(app, client, register):
    owner = register()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    resp = owner.post("/api/v1/invitations", json={"email": email, "role": "admin"})
    assert resp.status_code == 201, resp.get_json()
    invitation = resp.get_json()["data"]
    assert invitation["status"] == "pending" and invitation["role"] == "admin"
    assert invitation["invited_by"] == owner.user["id"]
    listed = owner.get("/api/v1/invitations").get_json()
    assert [i["id"] for i in listed["data"]] == [invitation["id"]]

    [mail] = _mails(app, "invitation", email)
    assert mail["tenant_name"] == owner.tenant["name"] and mail["role"] == "admin"
    token = _token(mail["accept_url"])
    joined = client.post("/api/v1/invitations/accept",
                         json={"token": token, "name": "Ivy Invitee", "password": NEW_PASSWORD})
    assert joined.status_code == 201, joined.get_json()
    data = joined.get_json()["data"]
    assert data["user"]["role"] == "admin" and data["user"]["tenant_id"] == owner.tenant["id"]
    assert client.get("/api/v1/auth/me", headers=auth_header(data["access_token"])).status_code == 200
    assert owner.get("/api/v1/invitations").get_json()["data"] == []
    assert_error(client.post("/api/v1/invitations/accept", json={
        "token": token, "name": "Again", "password": NEW_PASSWORD}), 400, "BAD_REQUEST")
    actions = [e["action"] for e in owner.get("/api/v1/audit-events?per_page=100").get_json()["data"]]
    assert "invitation.created" in actions and "invitation.accepted" in actions


def test_a_revoked_invitation_cannot_be_accepted(app, client, register):
    owner = register()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    invitation = owner.post("/api/v1/invitations", json={"email": email}).get_json()["data"]
    assert owner.delete(f"/api/v1/invitations/{invitation['id']}").status_code == 200
    assert_error(owner.delete(f"/api/v1/invitations/{invitation['id']}"), 404, "NOT_FOUND")
    token = _token(_mails(app, "invitation", email)[0]["accept_url"])
    assert_error(client.post("/api/v1/invitations/accept", json={
        "token": token, "name": "Late", "password": NEW_PASSWORD}), 400, "BAD_REQUEST")


def test_invitations_are_for_admins_of_their_own_tenant(client, register, add_user):
    owner, other = register(), register()
    member = add_user(owner, "member")
    assert_error(member.post("/api/v1/invitations", json={"email": "x@example.com"}), 403, "FORBIDDEN")
    admin = add_user(owner, "admin")
    assert_error(admin.post("/api/v1/invitations", json={"email": "x@example.com", "role": "owner"}),
                 403, "FORBIDDEN")
    invitation = owner.post("/api/v1/invitations", json={"email": "y@example.com"}).get_json()["data"]
    assert_error(other.delete(f"/api/v1/invitations/{invitation['id']}"), 404, "NOT_FOUND")
    assert other.get("/api/v1/invitations").get_json()["data"] == []


def test_accepting_with_an_address_that_has_an_account_is_a_conflict(app, client, register):
    owner, someone = register(), register()
    owner.post("/api/v1/invitations", json={"email": someone.email})
    token = _token(_mails(app, "invitation", someone.email)[0]["accept_url"])
    assert_error(client.post("/api/v1/invitations/accept", json={
        "token": token, "name": "Dup", "password": NEW_PASSWORD}), 409, "CONFLICT")
