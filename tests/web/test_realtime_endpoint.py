"""GET /api/v1/realtime: where browsers connect Socket.IO, and the settings behind it."""
from __future__ import annotations

import pytest

from hub.config import ConfigError, check_config, load_config


def test_without_realtime_url_the_answer_is_the_requests_host_on_realtime_port(app, client):
    resp = client.get("/api/v1/realtime", base_url="https://hub.example.com:8443")
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert data["url"] == f"https://hub.example.com:{app.config['REALTIME_PORT']}"
    assert data["path"] == "/socket.io"
    assert data["transports"] == ["websocket", "polling"]
    assert data["auth_timeout_seconds"] == app.config["REALTIME_AUTH_TIMEOUT"]
    ipv6 = client.get("/api/v1/realtime", base_url="http://[::1]:5000").get_json()["data"]
    assert ipv6["url"] == f"http://[::1]:{app.config['REALTIME_PORT']}"


@pytest.mark.parametrize("configured", ["/", "https://rt.example.com"])
def test_a_configured_realtime_url_is_given_as_it_is(app, client, configured):
    app.config["REALTIME_URL"] = configured
    try:
        assert client.get("/api/v1/realtime").get_json()["data"]["url"] == configured
    finally:
        app.config["REALTIME_URL"] = ""


def test_query_parameters_are_refused(client):
    resp = client.get("/api/v1/realtime?x=1")
    assert resp.status_code == 422 and resp.get_json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("name, value", [
    ("REALTIME_URL", "ws://elsewhere"), ("REALTIME_PATH", "socket.io"),
    ("REALTIME_AUTH_TIMEOUT", "0"), ("REALTIME_MAX_SOCKETS_PER_USER", "0"),
    ("REALTIME_MAX_CONNECTIONS_PER_IP", "-1"), ("SOCKETIO_TRANSPORTS", "carrier-pigeon")])
def test_unusable_realtime_settings_are_refused_at_start(name, value):
    with pytest.raises(ConfigError, match=name):
        check_config(load_config(environ={name: value}))
