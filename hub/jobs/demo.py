"""`demo.sleep`: a job to try the pipeline with (progress, failures, retries, cancel)."""
from __future__ import annotations

import time
from typing import Any

from hub.extensions import db
from hub.jobs.types import JobContext, RetryableError, RetryPolicy, job_type
from hub.models import DemoEffect

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["seconds"],
    "properties": {
        "seconds": {"type": "number", "minimum": 0, "maximum": 600,
                    "description": "How long to sleep, reporting progress every second."},
        "fail_times": {"type": "integer", "minimum": 0, "maximum": 20, "default": 0,
                       "description": "Fail this many first attempts with a retryable error."},
        # Tests count these rows to prove a retried job's effect happens once; the
        # description is what a person sees beside the checkbox in the console.
        "record": {"type": "boolean", "default": False,
                   "description": "Save a note that the job finished, together with its success."},
        "flow_key": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$",
                     "description": "Hold the flow-control key `demo:<tenant id>:<this>` while "
                                    "running, to watch FLOW_LIMITS' `demo:*` limit at work."},
    },
}


def _flow_keys(payload: dict[str, Any], tenant_id: Any) -> list[str]:
    # Scoped to the tenant: one tenant's demo keys never hold back another's jobs.
    return [f"demo:{tenant_id}:{payload['flow_key']}"] if payload.get("flow_key") else []

# Quick retries so a person can watch one: about 1 s, then 2 s, 3 attempts in all.
POLICY = RetryPolicy(max_attempts=3, base_delay=1.0, factor=2.0, max_delay=30.0, jitter=0.2)


@job_type("demo.sleep", schema=SCHEMA, queue="default", retry=POLICY, flow_keys=_flow_keys,
          description="Sleep `seconds` with progress each second; fail the first `fail_times` "
                      "attempts with a retryable error.")
def sleep(ctx: JobContext) -> dict[str, Any]:
    seconds = float(ctx.payload["seconds"])
    fail_times = int(ctx.payload.get("fail_times", 0))
    if ctx.attempt <= fail_times:
        ctx.progress(0, f"attempt {ctx.attempt} will fail on purpose")
        raise RetryableError(f"demo failure {ctx.attempt} of {fail_times}", code="DEMO_FAILURE")
    steps = max(1, int(seconds + 0.999))
    started = time.monotonic()
    for step in range(1, steps + 1):
        ctx.check_cancelled()
        time.sleep(max(0.0, min(step, seconds) - (time.monotonic() - started)))
        ctx.progress(round(100 * step / steps), f"slept {min(step, seconds):g} of {seconds:g} s")
    if ctx.payload.get("record"):
        # Not committed here: succeed() commits it together with the job's success, and
        # rolls it back if this attempt lost its lease meanwhile. At-least-once delivery,
        # exactly-once effect.
        db.session.add(DemoEffect(job_id=ctx.job_id, attempt=ctx.attempt))
    return {"slept": seconds, "attempt": ctx.attempt}
