"""Idempotency-Key over time: a repeat while the first request still runs, a key used again
after its TTL, and a reservation left by a request that never finished.

An upload is the request that can be held open for real: its key is reserved before
the body is read, so a body that arrives slowly keeps the first request in progress.
"""
from __future__ import annotations

import io
import threading
import uuid
from datetime import timedelta

from hub.extensions import db
from hub.models import IdempotencyRecord, utcnow
from hub.services.idempotency import ABANDONED_AFTER
from tests.support.helpers import assert_error

BOUNDARY = "hub-test-boundary"
CSV = b"name,age\nann,31\nbob,42\n"
JOB = {"type": "demo.sleep", "payload": {"seconds": 0}}


def _multipart(data: bytes, filename: str = "people.csv") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


class SlowBody(io.BytesIO):
    """A request body that sends its first bytes, then waits: for `go` (the rest arrives)
    or `hang_up` (the client goes away: the body ends early)."""

    def __init__(self, body: bytes, held_at: int) -> None:
        super().__init__(body)
        self.held_at = held_at
        self.waiting = threading.Event()
        self.go = threading.Event()
        self.hung_up = False

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.held_at and not self.go.is_set():
            self.waiting.set()
            self.go.wait(30)
        if self.hung_up:
            return b""
        if self.tell() < self.held_at:
            left = self.held_at - self.tell()
            size = left if size is None or size < 0 else min(size, left)
        return super().read(size)

    def readinto(self, buffer) -> int:
        chunk = self.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def hang_up(self) -> None:
        self.hung_up = True
        self.go.set()


class Upload:
    """POST /files with a key in a thread of its own, its body held part-way."""

    def __init__(self, app, account, key: str) -> None:
        body = _multipart(CSV)
        self.body = SlowBody(body, held_at=len(body) // 2)
        self.response = None
        headers = {**account.headers, "Idempotency-Key": key}

        def send() -> None:
            self.response = app.test_client().post(
                "/api/v1/files", input_stream=self.body, headers=headers,
                content_type=f"multipart/form-data; boundary={BOUNDARY}")

        self.thread = threading.Thread(target=send, daemon=True)
        self.thread.start()
        assert self.body.waiting.wait(30), "the upload never started reading its body"

    def finish(self):
        self.body.go.set()
        self.thread.join(30)
        return self.response

    def abandon(self):
        self.body.hang_up()
        self.thread.join(30)
        return self.response


def _upload(account, key: str):
    return account.post("/api/v1/files", data=_multipart(CSV), headers={"Idempotency-Key": key},
                        content_type=f"multipart/form-data; boundary={BOUNDARY}")


def _record(app, account, key: str) -> IdempotencyRecord:
    return db.session.get(IdempotencyRecord, (uuid.UUID(account.tenant["id"]), key))


def test_a_repeat_while_the_first_request_runs_is_409_and_later_gets_its_answer(app, register):
    owner = register()
    first = Upload(app, owner, "upload-in-flight")
    repeat = _upload(owner, "upload-in-flight")
    body = assert_error(repeat, 409, "CONFLICT")
    assert "still in progress" in body["message"] and body["details"]["idempotency_key"] == "upload-in-flight"

    done = first.finish()
    assert done.status_code == 201, done.get_json()
    again = _upload(owner, "upload-in-flight")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["id"] == done.get_json()["data"]["id"]
    assert len(owner.get("/api/v1/files").get_json()["data"]) == 1


def test_a_key_is_free_for_any_request_once_its_ttl_has_passed(app, app_ctx, register):
    owner = register()
    first = owner.post("/api/v1/jobs", json=JOB, headers={"Idempotency-Key": "nightly-1"})
    assert first.status_code == 202
    other = {"type": "demo.sleep", "payload": {"seconds": 1}}
    assert_error(owner.post("/api/v1/jobs", json=other, headers={"Idempotency-Key": "nightly-1"}),
                 409, "CONFLICT")
    record = _record(app, owner, "nightly-1")
    assert record.expires_at - record.created_at == timedelta(hours=app.config["IDEMPOTENCY_TTL_HOURS"])
    record.expires_at = utcnow() - timedelta(seconds=1)  # the TTL has run out
    db.session.commit()

    reused = owner.post("/api/v1/jobs", json=other, headers={"Idempotency-Key": "nightly-1"})
    assert reused.status_code == 202 and "Idempotent-Replayed" not in reused.headers
    assert reused.get_json()["data"]["id"] != first.get_json()["data"]["id"]
    assert len(owner.get("/api/v1/jobs").get_json()["data"]) == 2
    # The key now holds the new answer, for a new TTL.
    replay = owner.post("/api/v1/jobs", json=other, headers={"Idempotency-Key": "nightly-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["data"]["id"] == reused.get_json()["data"]["id"]


def test_an_abandoned_reservation_is_taken_over_and_its_request_cannot_free_it_later(
        app, app_ctx, register):
    owner = register()
    stuck = Upload(app, owner, "upload-abandoned")
    assert_error(_upload(owner, "upload-abandoned"), 409, "CONFLICT")  # not abandoned yet
    record = _record(app, owner, "upload-abandoned")
    record.created_at = utcnow() - ABANDONED_AFTER - timedelta(seconds=1)  # as if it hung this long
    db.session.commit()

    taken = _upload(owner, "upload-abandoned")
    assert taken.status_code == 201, taken.get_json()
    assert "Idempotent-Replayed" not in taken.headers
    # The old request dies at last (its client went away): its key belongs to another now.
    assert stuck.abandon().status_code == 400
    replay = _upload(owner, "upload-abandoned")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["data"]["id"] == taken.get_json()["data"]["id"]
    assert len(owner.get("/api/v1/files").get_json()["data"]) == 1
