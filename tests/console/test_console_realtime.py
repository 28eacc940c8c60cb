"""The console's socket in Chromium: the default Socket.IO client against the realtime
process, a renewed token handed to the open socket, and a session that ends on the server."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.support.helpers import PASSWORD
from tests.support.socket_client import realtime_endpoint


def test_the_console_connects_with_the_default_client_to_the_realtime_process(
        page, log_in, hub_user, hub_url):
    realtime_url, path = realtime_endpoint(hub_url)
    polls: list[str] = []
    sockets: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "transport=polling" in r.url else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    log_in(hub_user())
    # Long-polling first, then the upgrade to a WebSocket: no transports option was given.
    assert polls and all(u.startswith(realtime_url + path + "/") for u in polls), polls
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    host = realtime_url.removeprefix("http://")
    upgraded = lambda: any(u.startswith(f"ws://{host}{path}/") and "transport=websocket" in u  # noqa: E731
                           for u in sockets)
    for _ in range(50):  # the upgrade follows the first polls
        if upgraded():
            break
        page.wait_for_timeout(100)
    assert upgraded(), sockets


def test_a_renewed_access_token_is_handed_to_the_open_socket(page, log_in, hub_user):
    """So the socket outlives the old token's expiry (the server closes it at expiry)."""
    sent: list[str] = []
    received: list[str] = []

    def watch(ws) -> None:
        ws.on("framesent", lambda payload: sent.append(str(payload)))
        ws.on("framereceived", lambda payload: received.append(str(payload)))

    page.on("websocket", watch)
    log_in(hub_user())
    for _ in range(50):  # "5" is Engine.IO's upgrade: from here on the socket is a WebSocket
        if "5" in sent:
            break
        page.wait_for_timeout(100)
    assert "5" in sent, sent
    # The renewal the console schedules a minute before expiry, run now.
    token = page.evaluate("""async () => {
        const session = await import("/console/static/js/session.js");
        await session.refresh();
        return session.getAccessToken();
    }""")
    page.wait_for_timeout(200)
    for _ in range(50):
        if any("reauth" in f and token in f for f in sent) and \
                any('"ok":true' in f and "expires_at" in f for f in received):
            break
        page.wait_for_timeout(100)
    assert any("reauth" in f and token in f for f in sent), sent[-5:]
    assert any('"ok":true' in f and "expires_at" in f for f in received), received[-5:]
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


@pytest.mark.parametrize("change", [{"is_active": False},
                                    {"password": "Cobalt lanterns hum at dusk 42"}],
                         ids=["deactivation", "password_reset"])
def test_an_admins_change_ends_the_consoles_session(page, log_in, hub_user, hub_url, change):
    owner = hub_user()
    email = "member-" + owner.email
    created = requests.post(hub_url + "/api/v1/users", headers=owner.headers, timeout=10, json={
        "email": email, "name": "Morgan Member", "password": PASSWORD, "role": "member"})
    assert created.status_code == 201, created.text

    class Member:
        pass

    member = Member()
    member.email, member.password = email, PASSWORD
    log_in(member)
    changed = requests.patch(f"{hub_url}/api/v1/users/{created.json()['data']['id']}",
                             headers=owner.headers, timeout=10, json=change)
    assert changed.status_code == 200, changed.text
    # The server closes the socket; the console's renewal is refused; back to the login form.
    expect(page.get_by_role("heading", name="Log in")).to_be_visible(timeout=10_000)
    expect(page.get_by_text(re.compile("session has ended", re.I))).to_be_visible()
