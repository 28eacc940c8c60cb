"""The tenant hears about its syncs on its sockets: a `notification` when a sync finishes and
when a connection needs attention, from the worker through Redis to the realtime process."""
from __future__ import annotations

import pytest

from tests.support.http_fake import Answer, FakeHTTPServer
from tests.support.jobs import wait_for_job
from tests.support.processes import wait_until
from tests.support.socket_client import RecordingClient
from tests.sync.conftest import create_connection, sync

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("sync_worker")]

ITEMS = {"items": [{"id": n, "name": f"item {n}"} for n in range(1, 4)]}


def _notifications(socket: RecordingClient, kind: str) -> list[dict]:
    with socket._lock:
        return [data for name, data in socket.events if name == "notification" and data["kind"] == kind]


@pytest.fixture
def owner_socket(module_live_server, register):
    owner = register()
    socket = RecordingClient(module_live_server, owner.access)
    yield owner, socket
    socket.close()


def test_a_finished_sync_is_announced_to_its_tenant_only(owner_socket, module_live_server, register):
    owner, socket = owner_socket
    stranger = RecordingClient(module_live_server, register().access)  # another tenant
    try:
        with FakeHTTPServer(Answer(200, ITEMS)) as source:
            conn = create_connection(owner, source.url("/items"))
            wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded")
        (note,) = wait_until(lambda: _notifications(socket, "sync.completed"), 30,
                             "the sync.completed notification")
        assert note["data"]["connection_id"] == conn["id"]
        assert note["data"]["counts"]["created"] == 3 and note["data"]["counts"]["records"] == 3
        assert "Source" in note["message"] and "3 created" in note["message"]
        assert _notifications(socket, "connection.needs_attention") == []
        assert stranger.events == []  # same process, same moment: nothing for another tenant
    finally:
        stranger.close()


def test_a_connection_that_needs_attention_is_announced(owner_socket):
    owner, socket = owner_socket
    with FakeHTTPServer(Answer(403, {"error": "forbidden"})) as source:
        conn = create_connection(owner, source.url("/items"), credentials={"token": "old-token-5"})
        wait_for_job(owner, sync(owner, conn["id"])["id"], "failed")
    (note,) = wait_until(lambda: _notifications(socket, "connection.needs_attention"), 30,
                         "the connection.needs_attention notification")
    assert note["data"]["connection_id"] == conn["id"]
    assert "403" in note["data"]["reason"] and "needs attention" in note["message"]
    assert "old-token-5" not in str(note)
    assert _notifications(socket, "sync.completed") == []
