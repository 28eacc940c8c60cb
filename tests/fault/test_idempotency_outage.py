"""An Idempotency-Key whose request lost the database is settled by the retry, not locked
for minutes. PostgreSQL really stops, at the one step that matters: the moment the hub
is about to store the answer, or to free the key of a failed request. The hub's own
`except SQLAlchemyError` branches meet the dead connection; the retry comes once the
server is back."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from hub.extensions import db
from hub.services import idempotency

JOB = {"type": "demo.sleep", "payload": {"seconds": 0}}


@pytest.fixture
def outage_at(app, postgres_server):
    """`with outage_at("UPDATE idempotency_keys"):` stops PostgreSQL just before the first
    statement of the hub's that starts so; the server is running again after the block."""
    if postgres_server is None:
        pytest.fail("outage tests need the PostgreSQL started by the test set-up")

    @contextmanager
    def outage(statement: str) -> Iterator[list[str]]:
        stopped: list[str] = []

        def before(conn, cursor, sql, parameters, context, executemany) -> None:
            if not stopped and sql.lstrip().startswith(statement):
                stopped.append(sql)
                postgres_server.stop()

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield stopped
        finally:
            event.remove(engine, "before_cursor_execute", before)
            postgres_server.start()

    return outage


def test_an_answer_that_could_not_be_stored_is_replayed_on_the_retry(register, outage_at):
    owner = register()
    headers = {"Idempotency-Key": "outage-1"}
    with outage_at("UPDATE idempotency_keys") as stopped:
        first = owner.post("/api/v1/jobs", json=JOB, headers=headers)
    assert stopped, "the hub never tried to store the answer"
    assert first.status_code == 202, first.get_json()  # the job exists: the answer is true
    again = owner.post("/api/v1/jobs", json=JOB, headers=headers)
    assert again.status_code == 202, again.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["data"]["id"] == first.get_json()["data"]["id"]
    assert len(owner.get("/api/v1/jobs").get_json()["data"]) == 1


def test_a_key_that_could_not_be_released_is_free_on_the_retry(register, outage_at):
    owner = register()
    headers = {"Idempotency-Key": "outage-2"}
    with outage_at("DELETE FROM idempotency_keys") as stopped:
        bad = owner.post("/api/v1/jobs", json={"type": "demo.sleep", "payload": {}}, headers=headers)
    assert stopped, "the hub never tried to free the key"
    assert bad.status_code == 422, bad.get_json()  # the request's own error, not the outage's
    ok = owner.post("/api/v1/jobs", json=JOB, headers=headers)
    assert ok.status_code == 202, ok.get_json()
    assert "Idempotent-Replayed" not in ok.headers


@pytest.fixture(autouse=True)
def _no_orphans_left():
    yield
    idempotency._orphans.clear()
