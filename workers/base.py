"""HubTask: the base task that does the ledger work around a job handler.

`run_job(job_id)` claims the job (skipping one that finished, was cancelled or
is running elsewhere: delivery is at least once), keeps its lease alive from a
side thread while the handler works, gives the handler a `JobContext`, and
stores the result, the error, or the retry. Clients get `{code, message}`;
tracebacks go to the worker log only.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from celery import Task
from flask import Flask

from hub import tracing
from hub.extensions import db
from hub.jobs import runs as job_runs
from hub.jobs.types import JobCancelled, JobError, LeaseLost, get_job_type
from hub.logs import task_log_context
from hub.metrics import observe_attempt

log = logging.getLogger(__name__)


class HandlerContext:
    """The `JobContext` a handler gets."""

    def __init__(self, run: job_runs.JobRun) -> None:
        self._run = run
        self.job_id = run.job_id
        self.tenant_id = run.tenant_id
        self.payload = run.payload
        self.attempt = run.attempt
        self.request_id = run.request_id

    def progress(self, percent: int, message: str | None = None) -> None:
        job_runs.record_progress(self._run, percent, message)

    def check_cancelled(self) -> None:
        job_runs.check_cancelled(self._run)


class LeaseKeeper:
    """Renews the lease of every attempt running in this process, every third of its length.

    One thread per worker process, started with the first attempt and kept: a
    thread started and joined for each job cost more than a short job itself.
    An attempt is added when it starts and dropped when it ends; a renewal that
    races with the end is harmless (it matches only a row still holding this
    attempt's lease token).
    """

    _instances: dict[int, LeaseKeeper] = {}
    _instances_lock = threading.Lock()

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = max(1.0, app.config["JOB_LEASE_SECONDS"] / 3)
        self.runs: dict[uuid.UUID, tuple[job_runs.JobRun, float]] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
        self.thread.start()

    @classmethod
    def of_this_process(cls, app: Flask) -> LeaseKeeper:
        # Keyed by process id: a prefork child does not inherit its parent's threads.
        with cls._instances_lock:
            keeper = cls._instances.get(os.getpid())
            if keeper is None or keeper.app is not app:
                keeper = cls._instances[os.getpid()] = cls(app)
            return keeper

    def add(self, run: job_runs.JobRun) -> None:
        with self.lock:
            self.runs[run.job_id] = (run, time.monotonic())

    def remove(self, run: job_runs.JobRun) -> None:
        with self.lock:
            self.runs.pop(run.job_id, None)

    def _loop(self) -> None:
        tick = min(1.0, self.interval / 2)
        with self.app.app_context():
            while True:
                time.sleep(tick)
                now = time.monotonic()
                with self.lock:
                    due = [run for run, since in self.runs.values() if now - since >= self.interval]
                for run in due:
                    self._renew(run, now)

    def _renew(self, run: job_runs.JobRun, now: float) -> None:
        try:
            owned = job_runs.renew_lease(run)
        except Exception as exc:  # noqa: BLE001 - a failed renewal is retried next tick
            log.warning("lease renewal of job %s failed: %s", run.job_id, exc)
            # This thread keeps one session for the process's life: a failed statement
            # leaves it needing a rollback, and every later renewal would fail with it.
            db.session.remove()
            return
        with self.lock:
            if run.job_id in self.runs:
                if owned:
                    self.runs[run.job_id] = (run, now)
                else:  # finished, cancelled or taken over: nothing more to renew
                    del self.runs[run.job_id]


class HubTask(Task):
    """Base for tasks that run a job of the ledger."""

    flask_app: Flask  # set by workers.celery_app

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Like the app's default task class: every run inside the Flask app context.
        with self.flask_app.app_context():
            return self.run(*args, **kwargs)

    def run_job(self, job_id: str) -> dict[str, Any]:
        headers = self.request.headers if isinstance(self.request.headers, dict) else {}

        def header(name: str) -> str | None:
            return getattr(self.request, name, None) or headers.get(name)

        request_id = header("request_id")
        with task_log_context(request_id, job_id, header("tenant_id"), header("job_type")):
            try:
                job_uuid = uuid.UUID(job_id)
            except ValueError:
                log.error("dropping a message with a malformed job id %r", job_id)
                return {"skipped": "malformed job id"}
            worker = f"{self.request.hostname or socket.gethostname()}"
            run = job_runs.claim(job_uuid, worker)
            if run is None:
                log.info("job %s is not runnable (finished, cancelled or running elsewhere)", job_id)
                return {"skipped": True}
            return self._run_claimed(run)

    def _run_claimed(self, run: job_runs.JobRun) -> dict[str, Any]:
        started = time.perf_counter()
        with task_log_context(run.request_id, str(run.job_id), str(run.tenant_id), run.type), \
                tracing.job_attempt(str(run.job_id), run.type, str(run.tenant_id), run.request_id,
                                    run.attempt) as span:
            outcome = self._attempt(run)
            span.set_attribute("hub.outcome", outcome["status"])
        observe_attempt(run.type, outcome["status"], time.perf_counter() - started,
                        run.extra.get("queue_wait"))
        return outcome

    def _attempt(self, run: job_runs.JobRun) -> dict[str, Any]:
        from flask import current_app

        jtype = get_job_type(run.type)
        keeper = LeaseKeeper.of_this_process(current_app._get_current_object())
        keeper.add(run)
        try:
            if jtype is None:
                job_runs.fail(run, "UNKNOWN_JOB_TYPE", f"no handler for job type {run.type}", None)
                return {"status": "failed"}
            job_runs.pace_start(run)
            result = jtype.handler(HandlerContext(run))
            job_runs.succeed(run, result)
            log.info("job %s succeeded on attempt %s", run.job_id, run.attempt)
            return {"status": "succeeded"}
        except JobCancelled:
            job_runs.release_cancelled(run)
            log.info("job %s stopped: cancelled", run.job_id)
            return {"status": "cancelled"}
        except LeaseLost:
            log.warning("job %s: lease lost, another attempt owns it now", run.job_id)
            return {"status": "lease_lost"}
        except Exception as exc:  # noqa: BLE001 - every handler failure is recorded in the ledger
            self._record_failure(run, jtype, exc)
            return {"status": "failed_attempt"}
        finally:
            keeper.remove(run)

    def _record_failure(self, run: job_runs.JobRun, jtype, exc: Exception) -> None:
        # Whatever the handler left uncommitted belongs to the failed attempt:
        # it must not ride along with the failure record.
        db.session.rollback()
        retryable = jtype is not None and jtype.retry.is_retryable(exc)
        if isinstance(exc, JobError):
            code, message = exc.code, exc.message
            log.warning("job %s attempt %s failed: %s %s", run.job_id, run.attempt, code, message)
        else:
            code = "TRANSIENT_ERROR" if retryable else "INTERNAL_ERROR"
            message = ("A temporary error interrupted the job." if retryable
                       else "The job failed unexpectedly.")
            log.exception("job %s attempt %s raised", run.job_id, run.attempt)
        delay = (jtype.retry.delay(run.attempt, retry_after=getattr(exc, "retry_after", None))
                 if retryable else None)
        try:
            job_runs.fail(run, code, message, delay)
        except (JobCancelled, LeaseLost):
            job_runs.release_cancelled(run)
