"""Helpers shared by the tests: accounts as the API sees them, envelope checks."""
from __future__ import annotations

from typing import Any

PASSWORD = "correct horse battery"


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Account:
    """A registered user as the API sees it: ids and tokens."""

    def __init__(self, client, body: dict[str, Any], password: str) -> None:
        data = body["data"]
        self.client = client
        self.user = data["user"]
        self.tenant = data.get("tenant") or {"id": data["user"]["tenant_id"]}
        self.email = self.user["email"]
        self.password = password
        self.access = data["access_token"]
        self.refresh = data["refresh_token"]

    @property
    def headers(self) -> dict[str, str]:
        return auth_header(self.access)

    def get(self, path: str, **kw):
        return self.client.get(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, path: str, **kw):
        return self.client.post(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def patch(self, path: str, **kw):
        return self.client.patch(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, path: str, **kw):
        return self.client.delete(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)


def assert_error(resp, status: int, code: str) -> dict[str, Any]:
    """The response is the error envelope with this status and code."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    body = resp.get_json()
    assert body["success"] is False and body["error"] is True, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["meta"]["request_id"] == resp.headers["X-Request-ID"]
    return body


def reconnect_redis(app) -> None:
    """After Redis restarted under this process: drop the pools' dead connections and end
    Flask-Limiter's in-memory fallback, so the next tests neither fail their first command
    nor split their rate-limit counts between memory and Redis."""
    from hub.extensions import limiter, redis_client

    with app.app_context():
        limiter.storage.get_connection().connection_pool.disconnect()
        redis_client().connection_pool.disconnect()
    limiter._storage_dead = False


# Settings that pass production's checks (hub/config.check_config); tests change one at a time.
PRODUCTION_SETTINGS = {
    "HUB_ENV": "production", "SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40,
    "FLOWER_BASIC_AUTH": "ops:" + "p" * 20, "DATABASE_URL": "postgresql+psycopg://hub@db/hub",
    # Secrets at rest (connections, webhook endpoints) need keys in production.
    "ENCRYPTION_KEYS": "wNnhAW_p9B3k-9ZCC2GX3GDzZWn2zCKkeGpw1aQAyHc=",
    "METRICS_TOKEN": "m" * 32,
}
