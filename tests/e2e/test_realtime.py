"""The realtime process as the Procfile runs it: limits, sessions that end, several processes.

The hub here is gunicorn (HTTP) plus two realtime processes on their own ports,
the way two real-time processes behind a sticky load balancer are reached.
"""
from __future__ import annotations

import signal
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
import requests
import socketio
import websocket
from flask_jwt_extended import create_access_token
from localservices import free_port

from hub.extensions import db
from hub.jobs.schema import emit_job_update
from hub.models import Job, User
from tests.support.helpers import PASSWORD
from tests.support.processes import WebHub, start_realtime, wait_until
from tests.support.socket_client import RawSocket, RecordingClient, connect, realtime_endpoint

pytestmark = pytest.mark.e2e

AUTH_TIMEOUT = 1.5
PER_USER = 3
SETTINGS = {"REALTIME_AUTH_TIMEOUT": AUTH_TIMEOUT, "REALTIME_MAX_SOCKETS_PER_USER": PER_USER}


class Hub:
    def __init__(self, api: str, second_realtime: str, procs: list) -> None:
        self.api = api
        self.second = second_realtime
        self.procs = procs

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(30)}" for p in self.procs)

    def register(self, tenant: str = "Live") -> dict:
        resp = requests.post(self.api + "/api/v1/auth/register", timeout=10, json={
            "tenant_name": tenant, "name": "U", "email": f"{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        return resp.json()["data"]

    def as_user(self, data: dict, method: str, path: str, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {data['access_token']}"}
        return requests.request(method, self.api + path, headers=headers, timeout=10, **kw)

    def socket_on_second(self, token: str) -> socketio.Client:
        """A socket on the other realtime process (what a sticky balancer may pick)."""
        sio = socketio.Client(reconnection=False)
        sio.connect(self.second, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        return sio


@pytest.fixture(scope="module")
def hub(app, base_config, process_logs):
    web = WebHub({**base_config, **SETTINGS}, process_logs)
    second_port = free_port()
    try:
        second = start_realtime(web.config, process_logs, second_port)
    except BaseException:
        web.stop()
        raise
    try:
        yield Hub(web.url, f"http://127.0.0.1:{second_port}", [*web.procs, second])
    finally:
        second.stop()
        web.stop()


@pytest.fixture
def sockets():
    opened: list = []
    yield opened
    for sock in opened:
        sock.close() if not isinstance(sock, socketio.Client) else sock.disconnect()


def test_the_api_says_where_the_realtime_server_is(hub):
    body = requests.get(hub.api + "/api/v1/realtime", timeout=5).json()
    assert body["success"] is True
    url, path = body["data"]["url"], body["data"]["path"]
    assert url.startswith("http://127.0.0.1:") and url != hub.api and path == "/socket.io"
    assert requests.get(url + "/health/live", timeout=5).json()["data"]["status"] == "live"


def test_a_connection_that_never_authenticates_is_closed(hub, sockets):
    url, path = realtime_endpoint(hub.api)
    silent = RawSocket(url, path)
    refused = RawSocket(url, path)
    sockets.extend([silent, refused])
    assert refused.authenticate("not-a-jwt").startswith("44")  # CONNECT_ERROR, with the reason
    started = time.monotonic()
    assert silent.closed_within(AUTH_TIMEOUT + 5), "an unauthenticated socket stayed open" + hub.logs()
    assert time.monotonic() - started >= AUTH_TIMEOUT - 0.5
    assert refused.closed_within(5), "a socket whose token was refused stayed open"


def test_an_authenticated_connection_outlives_the_auth_timeout(hub, sockets):
    user = hub.register()
    url, path = realtime_endpoint(hub.api)
    raw = RawSocket(url, path)
    sockets.append(raw)
    assert raw.authenticate(user["access_token"]).startswith("40{")
    assert not raw.closed_within(AUTH_TIMEOUT + 1.5)


def test_sockets_per_user_are_capped_across_processes(hub, sockets):
    user = hub.register()
    token = user["access_token"]
    sockets.extend([connect(hub.api, token), connect(hub.api, token), hub.socket_on_second(token)])
    url, path = realtime_endpoint(hub.api)
    over = RawSocket(url, path)
    sockets.append(over)
    answer = over.authenticate(token)
    assert answer.startswith("44") and f"at most {PER_USER}" in answer, answer
    # Another user is not affected, and closing one socket frees a place.
    sockets.append(connect(hub.api, hub.register()["access_token"]))
    sockets[0].disconnect()
    wait_until(lambda: _can_connect(hub, token, sockets), 10, "a place after closing a socket")


def _can_connect(hub: Hub, token: str, opened: list) -> bool:
    try:
        opened.append(connect(hub.api, token))
        return True
    except socketio.exceptions.ConnectionError:
        return False


def test_events_reach_sockets_on_every_realtime_process(app, hub, start_worker, sockets):
    start_worker()
    user = hub.register()
    here = RecordingClient(hub.api, user["access_token"])
    there = RecordingClient(hub.api, user["access_token"])
    there.sio.disconnect()
    there.sio.connect(hub.second, auth={"token": user["access_token"]}, transports=["websocket"])
    sockets.extend([here.sio, there.sio])
    resp = hub.as_user(user, "POST", "/api/v1/jobs", json={"type": "demo.sleep",
                                                            "payload": {"seconds": 0}})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["data"]["id"]
    for client in (here, there):
        assert client.wait_for_status(job_id, "succeeded", timeout=30)[-1]["status"] == "succeeded"


def test_the_default_client_long_polls_then_upgrades(hub, sockets):
    """io(url, {auth: {token}}) with no transports option: polling first, then WebSocket."""
    user = hub.register()
    url, path = realtime_endpoint(hub.api)
    sio = socketio.Client(reconnection=False)
    sio.connect(url, socketio_path=path, auth={"token": user["access_token"]}, wait_timeout=10)
    sockets.append(sio)
    wait_until(lambda: sio.transport() == "websocket", 10, "the upgrade to a WebSocket")
    assert sio.call("subscribe", {"job_id": str(uuid.uuid4())}, timeout=10)["ok"] is False


def _session_end(hub: Hub, token: str) -> list[RecordingClient]:
    first = RecordingClient(hub.api, token)
    second = RecordingClient(hub.api, token)
    second.sio.disconnect()
    second.disconnected.clear()
    second.sio.connect(hub.second, auth={"token": token}, transports=["websocket"])
    return [first, second]


def _assert_ended(clients: list[RecordingClient], reason: str | None = None) -> None:
    for client in clients:
        assert client.disconnected.wait(5), "the socket outlived the session"
        ended = [d for n, d in client.events if n == "session.ended"]
        if reason is not None:
            assert ended and ended[-1]["reason"] == reason, client.events


def test_logout_ends_the_sessions_sockets_on_every_process(hub, sockets):
    user = hub.register()
    clients = _session_end(hub, user["access_token"])
    sockets.extend(c.sio for c in clients)
    other_login = requests.post(hub.api + "/api/v1/auth/login", timeout=10, json={
        "email": user["user"]["email"], "password": PASSWORD}).json()["data"]
    other = RecordingClient(hub.api, other_login["access_token"])
    sockets.append(other.sio)
    resp = hub.as_user(user, "POST", "/api/v1/auth/logout",
                       json={"refresh_token": user["refresh_token"]})
    assert resp.status_code == 200, resp.text
    _assert_ended(clients)
    assert not other.disconnected.wait(1), "logout ended another login's socket"


def test_refresh_token_reuse_ends_the_familys_sockets(hub, sockets):
    user = hub.register()
    clients = _session_end(hub, user["access_token"])
    sockets.extend(c.sio for c in clients)
    refresh = {"Authorization": f"Bearer {user['refresh_token']}"}
    assert requests.post(hub.api + "/api/v1/auth/refresh", headers=refresh, timeout=10).ok
    assert requests.post(hub.api + "/api/v1/auth/refresh", headers=refresh,
                         timeout=10).status_code == 401
    _assert_ended(clients, "refresh_reuse")


@pytest.mark.parametrize("change", ["deactivate", "delete", "password_reset"])
def test_an_admin_change_ends_the_users_sockets(hub, sockets, change):
    owner = hub.register()
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    created = hub.as_user(owner, "POST", "/api/v1/users", json={
        "email": email, "name": "M", "password": PASSWORD, "role": "member"})
    assert created.status_code == 201, created.text
    member_id = created.json()["data"]["id"]
    login = requests.post(hub.api + "/api/v1/auth/login", timeout=10,
                          json={"email": email, "password": PASSWORD}).json()["data"]
    clients = _session_end(hub, login["access_token"])
    sockets.extend(c.sio for c in clients)
    if change == "deactivate":
        resp = hub.as_user(owner, "PATCH", f"/api/v1/users/{member_id}", json={"is_active": False})
    elif change == "delete":
        resp = hub.as_user(owner, "DELETE", f"/api/v1/users/{member_id}")
    else:
        resp = hub.as_user(owner, "PATCH", f"/api/v1/users/{member_id}",
                           json={"password": "An0ther long passphrase!"})
    assert resp.status_code in (200, 204), resp.text
    _assert_ended(clients)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sockets.append(connect(hub.api, login["access_token"]))


def test_changing_your_own_password_ends_your_other_logins_sockets_only(hub, sockets):
    user = hub.register()
    other_login = requests.post(hub.api + "/api/v1/auth/login", timeout=10, json={
        "email": user["user"]["email"], "password": PASSWORD}).json()["data"]
    mine, other = RecordingClient(hub.api, user["access_token"]), RecordingClient(
        hub.api, other_login["access_token"])
    sockets.extend([mine.sio, other.sio])
    resp = hub.as_user(user, "POST", "/api/v1/auth/password", json={
        "current_password": PASSWORD, "new_password": "Cobalt lanterns hum at dusk 42"})
    assert resp.status_code == 200, resp.text
    _assert_ended([other], "password_changed")
    assert not mine.disconnected.wait(1), "the login that changed the password lost its socket"


def test_losing_staff_leaves_the_staff_room_at_once(app, hub, sockets):
    staff = hub.register("Operators")
    other = hub.register("Customer")
    with app.app_context():
        user = db.session.get(User, uuid.UUID(staff["user"]["id"]))
        user.is_staff = True
        db.session.commit()
    watcher = RecordingClient(hub.api, staff["access_token"])
    sockets.append(watcher.sio)
    job_id = hub.as_user(other, "POST", "/api/v1/jobs", json={
        "type": "demo.sleep", "payload": {"seconds": 0}}).json()["data"]["id"]
    with app.app_context():
        emit_job_update(db.session.get(Job, uuid.UUID(job_id)))
    wait_until(lambda: watcher.job_updates(job_id), 10, "staff to hear another tenant's job")
    with app.app_context():
        user = db.session.get(User, uuid.UUID(staff["user"]["id"]))
        user.is_staff = False
        db.session.commit()
    time.sleep(2)  # the room change is applied within this (usually milliseconds)
    heard = len(watcher.job_updates(job_id))
    with app.app_context():
        emit_job_update(db.session.get(Job, uuid.UUID(job_id)))
    time.sleep(1)
    assert len(watcher.job_updates(job_id)) == heard, "a former staff socket still hears the staff room"
    assert not watcher.disconnected.is_set()  # still signed in: only the room changed


def test_a_socket_closes_when_its_token_expires_unless_it_reauthenticates(app, hub, sockets):
    user = hub.register()
    with app.app_context():
        short = [create_access_token(identity=user["user"]["id"],
                                     expires_delta=timedelta(seconds=3)) for _ in range(2)]
    expiring, renewed = RecordingClient(hub.api, short[0]), RecordingClient(hub.api, short[1])
    sockets.extend([expiring.sio, renewed.sio])
    answer = renewed.call("reauth", {"token": user["access_token"]})
    assert answer["ok"] is True and answer["expires_at"] > time.time() + 60
    _assert_ended([expiring], "token_expired")
    assert not renewed.disconnected.wait(1)
    with app.app_context():
        stranger = create_access_token(identity=str(uuid.uuid4()))
    assert renewed.call("reauth", {"token": stranger})["ok"] is False


def test_other_sites_cannot_open_sockets(hub, sockets):
    url, path = realtime_endpoint(hub.api)
    with pytest.raises(websocket.WebSocketBadStatusException):
        sockets.append(RawSocket(url, path, origin="https://evil.example"))
    polling = requests.get(url + path + "/?EIO=4&transport=polling", timeout=5,
                           headers={"Origin": "https://evil.example"})
    assert polling.status_code == 400
    # The console's own origin (the API's) is another port of the same host: allowed.
    sockets.append(RawSocket(url, path, origin=hub.api))


def test_connections_per_address_are_capped_when_configured(base_config, process_logs, sockets):
    port = free_port()
    proc = start_realtime({**base_config, "REALTIME_MAX_CONNECTIONS_PER_IP": 3}, process_logs, port)
    try:
        url = f"http://127.0.0.1:{port}"
        sockets.extend(RawSocket(url, "/socket.io") for _ in range(3))
        with pytest.raises(websocket.WebSocketBadStatusException):
            RawSocket(url, "/socket.io")
        polling = requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=5)
        assert polling.status_code == 401 and "too many connections" in polling.text
        sockets.pop().close()
        wait_until(lambda: sockets.append(RawSocket(url, "/socket.io")) or True, 10,
                   "a place after closing a connection")
    finally:
        proc.stop()


def test_a_stop_closes_the_sockets_and_exits_promptly(app, base_config, process_logs, hub):
    """SIGTERM (a deploy) closes open sockets; the clients reconnect to another process."""
    port = free_port()
    proc = start_realtime(base_config, process_logs, port)
    user = hub.register()
    sio = socketio.Client(reconnection=False)
    sio.connect(f"http://127.0.0.1:{port}", auth={"token": user["access_token"]},
                transports=["websocket"], wait_timeout=10)
    try:
        proc.proc.send_signal(signal.SIGTERM)
        try:
            proc.proc.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError("the realtime process did not exit on SIGTERM\n"
                                 + proc.log_tail(30)) from None
        wait_until(lambda: not sio.connected, 10, "the client to see the socket closed")
    finally:
        sio.disconnect()
        proc.stop()


def test_open_sockets_never_take_the_apis_threads(app, base_config, process_logs, sockets):
    """The outage this process exists for: with Socket.IO on the API's gthread pool, as many
    open sockets as threads (64) stopped every HTTP request. Here the API has 4 threads and
    200 sockets are open, half never authenticating; the API still answers at once."""
    web = WebHub({**base_config, "WEB_CONCURRENCY": 1, "WEB_THREADS": 4}, process_logs)
    api = web.url
    try:
        hub = Hub(api, "", web.procs)
        users = [hub.register(f"Tabs {i}") for i in range(2)]
        url, path = realtime_endpoint(api)
        for i in range(100):
            idle = RawSocket(url, path)
            sockets.append(idle)
            tab = RawSocket(url, path)
            sockets.append(tab)
            assert tab.authenticate(users[i % 2]["access_token"]).startswith("40{")
        for _ in range(20):
            assert requests.get(api + "/health/live", timeout=5).ok
        for user in users:
            resp = hub.as_user(user, "POST", "/api/v1/jobs",
                               json={"type": "demo.sleep", "payload": {"seconds": 0}})
            assert resp.status_code == 202, resp.text
    finally:
        web.stop()


def test_websocket_only_mode_refuses_long_polling(app, base_config, process_logs, sockets):
    """Behind a load balancer without sticky sessions (README, Scaling out): WebSockets only."""
    port = free_port()
    proc = start_realtime({**base_config, "SOCKETIO_TRANSPORTS": "websocket"}, process_logs, port)
    try:
        url = f"http://127.0.0.1:{port}"
        polling = requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=5)
        assert polling.status_code == 400
        sockets.append(RawSocket(url, "/socket.io"))
    finally:
        proc.stop()


def test_each_cap_of_a_realtime_process_is_reached(app, base_config, process_logs, hub, sockets):
    """REALTIME_MAX_CONNECTIONS, REALTIME_MAX_MESSAGE_BYTES, REALTIME_MAX_SUBSCRIPTIONS_PER_SOCKET."""
    port = free_port()
    proc = start_realtime({**base_config, "REALTIME_MAX_CONNECTIONS": 6,
                           "REALTIME_MAX_MESSAGE_BYTES": 2048,
                           "REALTIME_MAX_SUBSCRIPTIONS_PER_SOCKET": 2}, process_logs, port)
    try:
        url = f"http://127.0.0.1:{port}"
        user = hub.register()
        job_ids = [hub.as_user(user, "POST", "/api/v1/jobs", json={
            "type": "demo.sleep", "payload": {"seconds": 0}}).json()["data"]["id"] for _ in range(3)]
        sio = socketio.Client(reconnection=False)
        sio.connect(url, auth={"token": user["access_token"]}, transports=["websocket"])
        sockets.append(sio)
        assert sio.call("subscribe", {"job_id": job_ids[0]}, timeout=10)["ok"] is True
        assert sio.call("subscribe", {"job_id": job_ids[1]}, timeout=10)["ok"] is True
        over = sio.call("subscribe", {"job_id": job_ids[2]}, timeout=10)
        assert over["ok"] is False and over["error"]["code"] == "LIMIT_REACHED"
        assert sio.call("unsubscribe", {"job_id": job_ids[0]}, timeout=10)["ok"] is True
        assert sio.call("subscribe", {"job_id": job_ids[2]}, timeout=10)["ok"] is True

        big = RawSocket(url, "/socket.io")
        sockets.append(big)
        big.ws.send("42" + '["subscribe",{"job_id":"' + "x" * 4096 + '"}]')
        assert big.closed_within(5), "a message over REALTIME_MAX_MESSAGE_BYTES was taken"

        opened = []
        with pytest.raises(websocket.WebSocketBadStatusException):
            for _ in range(10):
                opened.append(RawSocket(url, "/socket.io"))
        sockets.extend(opened)
        assert len(opened) < 6
    finally:
        proc.stop()
