"""Job types: what the hub can run, as a registry.

A job type names its handler, the JSON schema of its payload, its queue and
its retry policy. Handlers are plain functions taking a `JobContext`; they
raise `RetryableError` for trouble that may pass (network, 5xx, rate limits)
and `PermanentError` for trouble that will not.

A job type is found by where it lives: every module under `hub.jobs` and
`hub.services` is imported once (`load_job_types`), and each `@job_type` in
them registers itself. Adding an integration is adding its module; no list
to edit.
"""
from __future__ import annotations

import importlib
import pkgutil
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import jsonschema

JOB_TYPE_PACKAGES = ("hub.jobs", "hub.services")


class JobError(Exception):
    """An error a handler reports; `code` and `message` are shown to clients."""

    code = "JOB_ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class RetryableError(JobError):
    """Worth another attempt. `retry_after` (seconds), e.g. from a Retry-After
    header, is a lower bound on the wait before it."""

    code = "RETRYABLE_ERROR"

    def __init__(self, message: str, code: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class PermanentError(JobError):
    code = "PERMANENT_ERROR"


class JobCancelled(Exception):
    """Raised at a checkpoint when the job was cancelled; the handler stops."""


class LeaseLost(Exception):
    """Another attempt owns the job now (this one's lease expired); stop quietly."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 10.0   # seconds before the first retry
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.2        # ± fraction, so retries of many jobs spread out
    # Exceptions besides RetryableError that are worth another attempt.
    retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    # An explicit list of waits (seconds) after attempt 1, 2, ...; replaces the
    # exponential formula (e.g. Standard Webhooks' 5 s, 5 min, 30 min, ...).
    schedule: tuple[float, ...] | None = None

    def delay(self, attempt: int, rng: random.Random | None = None,
              retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), at
        least `retry_after` when the peer asked for it."""
        rng = rng or random
        if self.schedule:
            raw = self.schedule[min(attempt, len(self.schedule)) - 1]
        else:
            raw = min(self.max_delay, self.base_delay * self.factor ** max(0, attempt - 1))
        wait = max(0.0, raw * rng.uniform(1 - self.jitter, 1 + self.jitter))
        return max(wait, float(retry_after or 0))

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, PermanentError):
            return False
        return isinstance(exc, (RetryableError, *self.retry_on))

    def describe(self) -> dict[str, Any]:
        return {"max_attempts": self.max_attempts, "base_delay": self.base_delay,
                "factor": self.factor, "max_delay": self.max_delay, "jitter": self.jitter,
                "schedule": list(self.schedule) if self.schedule else None}


class JobContext(Protocol):
    """What a handler gets. The worker's base task provides it."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    payload: dict[str, Any]
    attempt: int
    request_id: str | None

    def progress(self, percent: int, message: str | None = None) -> None:
        """Record progress (0-100); also a cancellation checkpoint."""

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the job was cancelled."""


Handler = Callable[[JobContext], Any]
# The flow-control keys a job's attempts hold, from its payload and tenant (FLOW_LIMITS
# limits them; hub/jobs/admission.py). Runs when the job is created, in its transaction.
FlowKeys = Callable[[dict[str, Any], uuid.UUID], list[str]]


@dataclass(frozen=True)
class JobType:
    name: str
    handler: Handler
    schema: dict[str, Any]
    description: str = ""
    queue: str = "default"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    creatable: bool = True  # False: only the hub itself creates these (not POST /jobs)
    # For a type POST /jobs does not take: the endpoint that queues it, which its 422 names.
    created_through: str | None = None
    flow_keys: FlowKeys | None = None

    def validate(self, payload: Any) -> dict[str, list[str]]:
        """Field errors of `payload` against the schema (empty when valid)."""
        errors: dict[str, list[str]] = {}
        for error in sorted(_validator(self.name, self.schema).iter_errors(payload),
                            key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.absolute_path) or "_schema"
            errors.setdefault(where, []).append(error.message)
        return errors


_registry: dict[str, JobType] = {}
_validators: dict[str, jsonschema.Draft202012Validator] = {}


def _validator(name: str, schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """The type's schema validator, built once (every POST /jobs validates a payload).

    Formats the schema names (`uuid`, `email`, `date-time`, ...) are checked, as
    the OpenAPI document promises them: without a format checker, jsonschema
    treats `format` as a note and `""` passed for a uuid.
    """
    validator = _validators.get(name)
    if validator is None or validator.schema is not schema:
        validator = _validators[name] = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return validator


def job_type(name: str, *, schema: dict[str, Any], description: str = "",
             queue: str = "default", retry: RetryPolicy | None = None,
             creatable: bool = True, created_through: str | None = None,
             flow_keys: FlowKeys | None = None) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of job type `name`."""
    jsonschema.Draft202012Validator.check_schema(schema)

    def decorator(handler: Handler) -> Handler:
        _registry[name] = JobType(name=name, handler=handler, schema=schema,
                                  description=description or (handler.__doc__ or "").strip(),
                                  queue=queue, retry=retry or RetryPolicy(), creatable=creatable,
                                  created_through=created_through, flow_keys=flow_keys)
        return handler

    return decorator


_loaded = False


def load_job_types() -> dict[str, JobType]:
    """Import every module of `JOB_TYPE_PACKAGES` once; return the registry."""
    global _loaded
    if not _loaded:
        for package_name in JOB_TYPE_PACKAGES:
            package = importlib.import_module(package_name)
            for module in pkgutil.walk_packages(package.__path__, package_name + "."):
                importlib.import_module(module.name)
        _loaded = True
    return _registry


def get_job_type(name: str) -> JobType | None:
    return load_job_types().get(name)


def all_job_types() -> list[JobType]:
    return sorted(load_job_types().values(), key=lambda t: t.name)
