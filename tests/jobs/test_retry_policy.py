"""Retry policies: exponential backoff with jitter, explicit schedules, Retry-After."""
from __future__ import annotations

import random

from hub.jobs.types import PermanentError, RetryableError, RetryPolicy


def test_exponential_backoff_grows_within_jitter():
    policy = RetryPolicy(base_delay=1.0, factor=2.0, max_delay=30.0, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in (1, 2, 3, 4)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(30.0, 2.0 ** (n - 1))
        assert nominal * 0.8 <= delay <= nominal * 1.2
    assert delays == sorted(delays)
    assert policy.delay(20, rng) <= 30.0 * 1.2


def test_explicit_schedule_and_retry_after_lower_bound():
    policy = RetryPolicy(schedule=(5, 300, 1800), jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [5, 300, 1800, 1800]
    assert policy.delay(1, retry_after=60) == 60
    assert policy.delay(2, retry_after=60) == 300


def test_which_errors_are_retried():
    policy = RetryPolicy()
    assert policy.is_retryable(RetryableError("x"))
    assert policy.is_retryable(ConnectionError())
    assert not policy.is_retryable(PermanentError("x"))
    assert not policy.is_retryable(ValueError("bug"))
