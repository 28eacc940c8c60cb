"""A worker killed between pages: the next attempt resumes from the last committed page.
And a connector from a separately installed package, found only through its entry point."""
from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from hub.extensions import db
from hub.integrations.connectors import registry
from hub.models import Connection
from tests.support.jobs import wait_for_job
from tests.support.processes import wait_until
from tests.sync.conftest import WORKER_SETTINGS, create_connection, records, sync

pytestmark = pytest.mark.e2e


def _committed_pages(app, connection_id: str) -> int:
    with app.app_context():
        row = db.session.get(Connection, uuid.UUID(connection_id))
        return int((row.run_counts or {}).get("pages", 0))


def test_killed_worker_mid_sync_resumes_without_losing_or_doubling_a_page(
        app, register, source, start_worker, start_beat, base_config):
    owner = register()
    source.items = [{"id": n, "name": f"item {n}"} for n in range(1, 61)]
    source.delay = 0.4
    conn = create_connection(owner, source.url, config={"url": source.url, "per_page": 5})
    first = start_worker("doomed")
    job_id = sync(owner, conn["id"])["id"]
    wait_until(lambda: _committed_pages(app, conn["id"]) >= 3, 60, "three committed pages")
    first.kill()
    committed = _committed_pages(app, conn["id"])
    assert 3 <= committed < 13

    start_worker("survivor")
    start_beat()  # its relay takes the job back once the dead worker's lease expires
    job = wait_for_job(owner, job_id, "succeeded", timeout=90)
    assert job["attempts"] == 2
    assert {k: job["result"][k] for k in ("pages", "records", "created", "updated", "unchanged")} == \
        {"pages": 13, "records": 60, "created": 60, "updated": 0, "unchanged": 0}  # 12 full + 1 empty
    stored = records(owner, conn["id"])
    assert sorted(int(r["external_id"]) for r in stored) == list(range(1, 61))
    requested = source.pages_requested()
    assert set(requested) == set(range(1, 14))
    # The second attempt starts at the first uncommitted page: earlier pages are never fetched
    # again, and at most the page in flight at the kill is fetched twice.
    assert all(requested.count(p) == 1 for p in range(1, committed + 1))
    assert len(requested) - 13 <= 1


PLUGIN = '''
from hub.integrations.connectors.base import Connector, Page, Record


class CountingConnector(Connector):
    """Counts to `upto`, three a page (a plugin from outside the hub)."""

    name = "counting"
    config_schema = {"type": "object", "required": ["upto"], "additionalProperties": False,
                     "properties": {"upto": {"type": "integer", "minimum": 1, "maximum": 100}}}

    def fetch(self, cursor):
        start = (cursor or {}).get("next", 1)
        stop = min(start + 3, self.config["upto"] + 1)
        records = [Record(str(n), {"n": n, "square": n * n}) for n in range(start, stop)]
        done = stop > self.config["upto"]
        return Page(records, None if done else {"next": stop}, done=done)
'''


def _install_plugin(where: Path) -> None:
    """A distribution as pip would leave it: the package plus a .dist-info with entry_points.txt."""
    (where / "hubtest_counting").mkdir()
    (where / "hubtest_counting" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = where / "hubtest_counting-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hubtest-counting\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[hub.connectors]\ncounting = hubtest_counting:CountingConnector\n")


def test_a_connector_from_another_package_is_found_through_its_entry_point(
        app, register, tmp_path, monkeypatch, start_worker, base_config, process_logs):
    import sys

    owner = register()
    assert "counting" not in {c["name"] for c in owner.get("/api/v1/connectors").get_json()["data"]}
    _install_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry.reload_connectors()
        listed = {c["name"]: c for c in owner.get("/api/v1/connectors").get_json()["data"]}
        assert listed["counting"]["config_schema"]["required"] == ["upto"]
        bad = owner.post("/api/v1/connections", json={"connector": "counting", "name": "c",
                                                      "config": {"upto": 1000}})
        assert bad.status_code == 422
        resp = owner.post("/api/v1/connections", json={"connector": "counting", "name": "Counting",
                                                       "config": {"upto": 10}})
        assert resp.status_code == 201, resp.get_json()
        conn = resp.get_json()["data"]

        # A worker with the package on its path, as if pip had installed it there.
        from tests.support.processes import start_worker as start_process
        name = f"plugin-{uuid.uuid4().hex[:6]}"
        worker = start_process({**base_config, **WORKER_SETTINGS, "PYTHONPATH": str(tmp_path)},
                               process_logs, name=name)
        try:
            job = wait_for_job(owner, sync(owner, conn["id"])["id"], "succeeded", timeout=90)
        finally:
            worker.stop()
        assert job["result"]["created"] == 10 and job["result"]["pages"] == 4
        stored = records(owner, conn["id"])
        assert stored[-1]["data"] == {"n": 10, "square": 100}
    finally:
        monkeypatch.undo()
        sys.modules.pop("hubtest_counting", None)
        registry.reload_connectors()
