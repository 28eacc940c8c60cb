"""The operator commands as operators run them: `flask --app wsgi hub ...` in a process of
its own, against the suite's PostgreSQL, checked through the API and the stored rows."""
from __future__ import annotations

import re
import subprocess
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from hub.extensions import db
from hub.integrations.crypto import DecryptionError, SecretBox, derive_key
from hub.models import Connection, Tenant, User
from tests.support.processes import BIN, ROOT, child_env

PASSWORD = "quiet heron paddles 72"


def flask_hub(base_config, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", "hub", *args], cwd=ROOT,
                          env=child_env(base_config, **env), capture_output=True, text=True, timeout=120)


def _login(client, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_create_tenant_then_a_user_who_can_log_in(app, app_ctx, client, base_config):
    made = flask_hub(base_config, "create-tenant", "Harbour Ltd", "--tier", "enterprise")
    assert made.returncode == 0, made.stderr
    tenant_id = uuid.UUID(made.stdout.strip())
    tenant = db.session.get(Tenant, tenant_id)
    assert tenant.name == "Harbour Ltd" and tenant.tier == "enterprise"

    user = flask_hub(base_config, "create-user", "--tenant", str(tenant_id), "--email", "Ops@Harbour.example",
                     "--name", "Ops", "--role", "admin", HUB_USER_PASSWORD=PASSWORD)
    assert user.returncode == 0, user.stderr
    assert PASSWORD not in user.stdout + user.stderr
    login = _login(client, "ops@harbour.example")
    assert login.status_code == 200, login.get_json()
    me = login.get_json()["data"]["user"]
    assert me["id"] == user.stdout.strip() and me["role"] == "admin" and me["tenant_id"] == str(tenant_id)


@pytest.mark.parametrize("args, password, says", [
    (["--tenant", "{tenant}", "--email", "taken@harbour.example"], PASSWORD, "exists"),
    (["--tenant", str(uuid.UUID(int=7)), "--email", "new@harbour.example"], PASSWORD, "no tenant"),
    (["--tenant", "{tenant}", "--email", "new@harbour.example"], "password123", "too easy to guess"),
])
def test_create_user_refuses_what_the_api_would(app, app_ctx, base_config, register, args, password, says):
    owner = register(email="taken@harbour.example")
    args = [a.replace("{tenant}", owner.tenant["id"]) for a in args]
    before = db.session.scalar(select(db.func.count()).select_from(User))
    refused = flask_hub(base_config, "create-user", *args, "--name", "N", HUB_USER_PASSWORD=password)
    assert refused.returncode != 0 and says in refused.stderr, refused.stderr
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_seed_demo_makes_the_demo_login_and_its_connection_once(app, app_ctx, client, base_config):
    env = {"DEMO_EMAIL": "demo@harbour.example", "DEMO_PASSWORD": PASSWORD, "HUB_PORT": "5999"}
    first = flask_hub(base_config, "seed-demo", **env)
    assert first.returncode == 0, first.stderr
    assert "Created the demo tenant and user." in first.stdout
    assert "http://127.0.0.1:5999/demo-source/items" in first.stdout
    login = _login(client, "demo@harbour.example")
    assert login.status_code == 200 and login.get_json()["data"]["user"]["role"] == "owner"
    token = {"Authorization": f"Bearer {login.get_json()['data']['access_token']}"}
    (conn,) = client.get("/api/v1/connections", headers=token).get_json()["data"]
    assert conn["config"]["url"] == "http://127.0.0.1:5999/demo-source/items"

    again = flask_hub(base_config, "seed-demo", **env)
    assert again.returncode == 0, again.stderr
    assert "Created" not in again.stdout
    assert len(client.get("/api/v1/connections", headers=token).get_json()["data"]) == 1
    assert db.session.scalar(select(db.func.count()).select_from(Tenant)) == 1


def test_generate_encryption_key_prints_a_key_that_encrypts(base_config):
    made = flask_hub(base_config, "generate-encryption-key")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key != derive_key(base_config["SECRET_KEY"])
    assert SecretBox([key]).decrypt(SecretBox([key]).encrypt("x")) == "x"


def test_rotate_encryption_moves_connection_credentials_to_the_new_key(app, app_ctx, base_config, register):
    owner = register()
    made = owner.post("/api/v1/connections", json={
        "connector": "rest", "name": "Shop", "config": {"url": "http://127.0.0.1:9/items"},
        "credentials": {"token": "source-token-31"}})
    assert made.status_code == 201, made.get_json()
    old_key, new_key = derive_key(base_config["SECRET_KEY"]), Fernet.generate_key().decode()

    def stored() -> str:
        db.session.expire_all()
        return db.session.get(Connection, uuid.UUID(made.get_json()["data"]["id"])).credentials_encrypted

    # Without the key that wrote them, nothing is rewritten and the command says so.
    blind = flask_hub(base_config, "rotate-encryption", ENCRYPTION_KEYS=new_key)
    assert blind.returncode != 0 and "cannot be decrypted" in blind.stderr
    assert re.search(r"connections\.credentials_encrypted:unreadable: 1", blind.stdout), blind.stdout
    before = stored()

    rotated = flask_hub(base_config, "rotate-encryption", ENCRYPTION_KEYS=f"{new_key},{old_key}")
    assert rotated.returncode == 0, rotated.stderr
    assert re.search(r"connections\.credentials_encrypted: 1", rotated.stdout), rotated.stdout
    after = stored()
    assert after != before and "source-token-31" not in after
    assert "source-token-31" in SecretBox([new_key]).decrypt(after)
    with pytest.raises(DecryptionError):
        SecretBox([old_key]).decrypt(after)
    # The old key can go now: the new one alone reads everything.
    assert flask_hub(base_config, "rotate-encryption", ENCRYPTION_KEYS=new_key).returncode == 0
