"""The Stripe settings as the adapter takes them, and what "not configured" means where."""
from __future__ import annotations

from flask import current_app

from hub.integrations.stripe_api import StripeAuthError, StripeError, StripeSettings, StripeTemporaryError
from hub.jobs.types import JobError, PermanentError, RetryableError
from hub.web.errors import HubError, ServiceUnavailable, ValidationFailed

NOT_CONFIGURED = "Stripe is not configured on this hub (STRIPE_API_KEY is not set)."


def current() -> StripeSettings | None:
    """The settings from the app config, or None without STRIPE_API_KEY."""
    cfg = current_app.config
    if not cfg.get("STRIPE_API_KEY"):
        return None
    return StripeSettings(api_key=cfg["STRIPE_API_KEY"], api_base=cfg["STRIPE_API_BASE"],
                          max_network_retries=int(cfg["STRIPE_MAX_NETWORK_RETRIES"]),
                          timeout=float(cfg["STRIPE_TIMEOUT_SECONDS"]))


def require_for_api() -> StripeSettings:
    """The settings, or a 503 envelope that says Stripe is not configured."""
    found = current()
    if found is None:
        raise ServiceUnavailable(NOT_CONFIGURED, details={"setting": "STRIPE_API_KEY"})
    return found


def require_for_job() -> StripeSettings:
    """The settings, or a permanent job failure (retrying cannot configure Stripe)."""
    found = current()
    if found is None:
        raise PermanentError(NOT_CONFIGURED, code="STRIPE_NOT_CONFIGURED")
    return found


def job_error(exc: StripeError) -> JobError:
    """What a Stripe failure means for the job: retry later, or fail now with a clear error."""
    if isinstance(exc, StripeTemporaryError):
        return RetryableError(exc.message, code="STRIPE_UNAVAILABLE", retry_after=exc.retry_after)
    if isinstance(exc, StripeAuthError):
        return PermanentError(exc.message, code="STRIPE_AUTH_FAILED")
    return PermanentError(exc.message, code="STRIPE_REQUEST_FAILED")


def api_error(exc: StripeError) -> HubError:
    """What a Stripe failure during a request means for the caller: retry later (503), or a
    request Stripe refused (422, with Stripe's message)."""
    if isinstance(exc, StripeTemporaryError):
        retry = str(max(1, int(exc.retry_after or 5)))
        return ServiceUnavailable("Stripe is unavailable; retry shortly.", headers={"Retry-After": retry})
    if isinstance(exc, StripeAuthError):
        return ServiceUnavailable("Stripe refused the hub's API key; tell the hub's operators.",
                                  headers={"Retry-After": "60"})
    return ValidationFailed(f"Stripe refused the request: {exc.message}",
                            details={"stripe_code": exc.code})
