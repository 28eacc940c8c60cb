"""Settings: every knob the hub has, read from environment variables.

This module is the one place that names settings. `load_config()` reads the
environment when the app is created (never at import time) and
`check_config()` refuses to start a production app with a missing or
development secret.
"""
from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any, Callable

ENVIRONMENTS = ("development", "testing", "production")

# Placeholders used when a secret is not set outside production. Production
# refuses them by value, so copying a development .env into production fails.
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_JWT_SECRET_KEY = "dev-jwt-secret-key-not-for-production"
DEV_FLOWER_BASIC_AUTH = "staff:staff"
DEV_SECRETS = {
    "SECRET_KEY": DEV_SECRET_KEY,
    "JWT_SECRET_KEY": DEV_JWT_SECRET_KEY,
    "FLOWER_BASIC_AUTH": DEV_FLOWER_BASIC_AUTH,
}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The settings are unusable; the message names the setting."""


def _bool(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _int(value: str) -> int:
    return int(value.strip())


def _float(value: str) -> float:
    return float(value.strip())


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg}") from None


# name -> (parser, default). Defaults are for development; the README table
# lists the same names. Keep the two in step.
SETTINGS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "HUB_ENV": (str, "development"),
    # PostgreSQL only: the job ledger relies on SKIP LOCKED, advisory locks and
    # single-statement CTEs. `make run` starts a private one unless this is set.
    "DATABASE_URL": (str, "postgresql+psycopg://postgres@127.0.0.1:5432/hub"),
    "REDIS_URL": (str, "redis://127.0.0.1:6379/0"),
    "SECRET_KEY": (str, None),
    "JWT_SECRET_KEY": (str, None),
    "JWT_ACCESS_TOKEN_MINUTES": (_int, 15),
    "JWT_REFRESH_TOKEN_DAYS": (_int, 30),
    "ALLOW_SIGNUP": (_bool, True),
    # Account lifecycle (hub/services/accounts/lifecycle.py). Unset: on in production,
    # off elsewhere. On, sign-up answers 202 alike for new and taken addresses and a
    # new account logs in once its emailed link is followed.
    "ACCOUNT_EMAIL_VERIFICATION": (_bool, None),
    "PASSWORD_RESET_TTL_MINUTES": (_int, 60),
    "EMAIL_VERIFICATION_TTL_HOURS": (_int, 48),
    "INVITATION_TTL_HOURS": (_int, 168),
    # Account mails (reset, verification, invitation) each address may be sent.
    "ACCOUNT_EMAIL_RATE_LIMIT": (str, "5 per hour"),
    # The hub's address as users reach it, for links in mails (https://hub.example.com);
    # empty: the address of the request that caused the mail.
    "PUBLIC_URL": (str, ""),
    "MAX_CONTENT_LENGTH": (_int, 10 * 1024 * 1024),
    "FLOWER_BASIC_AUTH": (str, None),
    # argon2id's cost for password hashes (argon2-cffi's defaults, RFC 9106's low-memory
    # profile). Production refuses less than OWASP's minimum; the test suite uses the least.
    "ARGON2_TIME_COST": (_int, 3),
    "ARGON2_MEMORY_KIB": (_int, 65536),
    "ARGON2_PARALLELISM": (_int, 4),
    # zxcvbn's score (0-4) a new password needs; 3 = "safely unguessable" online.
    "PASSWORD_MIN_SCORE": (_int, 3),
    "LOGIN_RATE_LIMIT_IP": (str, "20 per minute"),
    # Failed logins per (account, client address): throttles a guesser, not the account's
    # owner elsewhere; the per-account ceiling is much higher, against distributed guessing.
    "LOGIN_RATE_LIMIT_ACCOUNT_CLIENT": (str, "5 per minute"),
    "LOGIN_RATE_LIMIT_ACCOUNT": (str, "100 per hour"),
    # POST /auth/password per user: a stolen access token must not become a way to
    # guess the current password (each attempt counts, right or wrong).
    "PASSWORD_CHANGE_RATE_LIMIT": (str, "10 per hour"),
    "API_RATE_LIMIT": (str, "600 per minute"),
    "CELERY_VISIBILITY_TIMEOUT": (_int, 3600),
    "CELERY_TASK_EVENTS": (_bool, False),
    "HEALTH_WORKER_TIMEOUT": (_int, 1),
    "LOG_LEVEL": (str, "INFO"),
    # `text` for a terminal; `json`: one JSON object per line with request_id, trace_id,
    # job_id and tenant_id (hub/logs.py).
    "LOG_FORMAT": (str, "text"),
    "JOB_LEASE_SECONDS": (_int, 60),
    "JOB_RELAY_INTERVAL": (_float, 2.0),
    "JOB_RELAY_ENABLED": (_bool, True),
    "JOB_DISPATCH_GRACE_SECONDS": (_float, 3.0),
    "JOB_SHORT_RETRY_SECONDS": (_float, 10.0),
    "JOB_REDISPATCH_SECONDS": (_int, 300),
    "JOB_RETENTION_DAYS": (_int, 30),
    "JOB_RETENTION_ENABLED": (_bool, True),
    "JOB_BATCH_MAX": (_int, 1000),
    "JOB_TIER_LIMITS": (_json, {
        "free": {"rate": "30 per minute", "concurrency": 2, "max_priority": "normal"},
        "standard": {"rate": "120 per minute", "concurrency": 5, "max_priority": "high"},
        "enterprise": {"rate": "600 per minute", "concurrency": 20, "max_priority": "high"},
    }),
    # Flow-control keys (hub/jobs/admission.py): an exact key, or `<kind>:*` for every key
    # of a kind; each {"rate": "N/second"} and/or {"concurrency": N}, global to all processes.
    "FLOW_LIMITS": (_json, {
        "smtp": {"rate": "10/second"},
        "stripe:*": {"rate": "25/second"},
        "webhook-endpoint:*": {"concurrency": 2},
        "connection:*": {"concurrency": 1},
    }),
    "IDEMPOTENCY_TTL_HOURS": (_int, 24),
    "BEAT_SCHEDULE_FILE": (str, "instance/celerybeat-schedule"),
    # Email (Flask-Mail over SMTP; hub/services/email/__init__.py).
    "MAIL_SERVER": (str, "localhost"),
    "MAIL_PORT": (_int, 25),
    "MAIL_USE_TLS": (_bool, False),
    "MAIL_USE_SSL": (_bool, False),
    # TLS to the relay checks its certificate: system CAs, or this PEM file for a private CA.
    "MAIL_TLS_CA_FILE": (str, None),
    "MAIL_TLS_VERIFY": (_bool, True),
    "MAIL_USERNAME": (str, None),
    "MAIL_PASSWORD": (str, None),
    "MAIL_DEFAULT_SENDER": (str, "Integration Hub <no-reply@localhost>"),
    "MAIL_TIMEOUT": (_float, 30.0),
    # None: Flask-Mail's default, which suppresses sending when HUB_ENV=testing.
    "MAIL_SUPPRESS_SEND": (_bool, None),
    "EMAIL_DAILY_LIMIT": (_int, 1000),
    "EMAIL_MAX_RECIPIENTS": (_int, 50),
    "EMAIL_RETRY_BASE_SECONDS": (_float, 5.0),
    "EMAIL_WELCOME_ENABLED": (_bool, True),
    # Secrets at rest, outbound HTTP and webhooks.
    "ENCRYPTION_KEYS": (str, None),
    "OUTBOUND_ALLOW_PRIVATE": (_bool, None),  # None: on outside production, off in production
    "WEBHOOK_TIMEOUT_SECONDS": (_float, 15.0),
    "WEBHOOK_RETRY_SCHEDULE": (_json, [5, 300, 1800, 7200, 18000, 36000, 36000]),
    "WEBHOOK_DISABLE_AFTER_DAYS": (_float, 5.0),
    "WEBHOOK_SECRET_GRACE_HOURS": (_float, 24.0),
    "WEBHOOK_RETENTION_DAYS": (_int, 30),
    # Third-party sync (hub/services/sync/__init__.py, hub/integrations/connectors/).
    "SYNC_PAUSED": (_bool, False),
    "SYNC_SCHEDULER_ENABLED": (_bool, True),
    "SYNC_SCHEDULER_INTERVAL": (_float, 30.0),
    "SYNC_MIN_INTERVAL_SECONDS": (_int, 60),
    "SYNC_HTTP_TIMEOUT_SECONDS": (_float, 30.0),
    "SYNC_HTTP_RETRIES": (_int, 3),
    "SYNC_HTTP_BACKOFF_SECONDS": (_float, 1.0),
    "SYNC_MAX_INLINE_WAIT_SECONDS": (_float, 10.0),
    "SYNC_BATCH_SIZE": (_int, 500),
    "SYNC_DEMO_SOURCE_ENABLED": (_bool, None),  # None: on outside production, off in production
    # Browser console (hub/console): where staff find Flower.
    "FLOWER_URL": (str, "http://127.0.0.1:5555/"),
    # --- files: storage backends, upload limits, processing ---
    "STORAGE_BACKEND": (str, "local"),
    # Relative paths are taken from the project directory (where `make run` runs).
    "STORAGE_LOCAL_ROOT": (str, "instance/storage"),
    "S3_BUCKET": (str, None),
    "S3_ENDPOINT_URL": (str, None),
    # Where browsers reach the bucket, if not at S3_ENDPOINT_URL (presigned URLs).
    "S3_PUBLIC_ENDPOINT_URL": (str, None),
    "S3_REGION": (str, "us-east-1"),
    # Optional: without them boto3 finds credentials its usual way (env, profile, role).
    "S3_ACCESS_KEY_ID": (str, None),
    "S3_SECRET_ACCESS_KEY": (str, None),
    "S3_ADDRESSING_STYLE": (str, "auto"),
    "S3_PART_SIZE": (_int, 8 * 1024 * 1024),
    "MAX_UPLOAD_BYTES": (_int, 1024 * 1024 * 1024),
    "STORAGE_UPLOAD_URL_SECONDS": (_int, 900),
    "STORAGE_DOWNLOAD_URL_SECONDS": (_int, 300),
    "FILE_THUMBNAIL_SIZE": (_int, 256),
    "FILE_IMAGE_MAX_PIXELS": (_int, 50_000_000),
    # A JPEG is decoded reduced (1/8 scale at most), other formats whole: those are also
    # refused when holding them decoded would take more than this (64 MB: 16 Mpx colour,
    # 64 Mpx greyscale or palette), so a worker's memory stays bounded.
    "FILE_IMAGE_MAX_DECODE_MB": (_int, 64),
    # Stored bytes per tenant, by tier: finished uploads plus pending direct uploads
    # (their announced size); a deleted file frees its bytes. null: no quota.
    "TENANT_STORAGE_QUOTA_BYTES": (_json, {"free": 1024**3, "standard": 100 * 1024**3,
                                           "enterprise": 1024**4}),
    "FILE_CSV_MAX_ROW_ERRORS": (_int, 100),
    # Direct uploads never completed (and partial objects) are removed after this.
    "FILE_PENDING_TTL_HOURS": (_int, 24),
    # Stripe payments. Without STRIPE_API_KEY the payment endpoints answer 503.
    "STRIPE_API_KEY": (str, None),
    "STRIPE_WEBHOOK_SECRET": (str, None),
    "STRIPE_API_BASE": (str, "https://api.stripe.com"),
    "STRIPE_MAX_NETWORK_RETRIES": (_int, 2),
    "STRIPE_TIMEOUT_SECONDS": (_float, 30.0),
    "STRIPE_WEBHOOK_MAX_BYTES": (_int, 512 * 1024),
    "STRIPE_WEBHOOK_RATE_LIMIT": (str, "3000 per minute"),
    "STRIPE_MATCH_WINDOW_DAYS": (_int, 3),
    "STRIPE_RECONCILE_LOOKBACK_DAYS": (_int, 90),
    "STRIPE_REPORT_LIST_LIMIT": (_int, 100),
    "STRIPE_NIGHTLY_RECONCILE_ENABLED": (_bool, True),
    "STRIPE_NIGHTLY_CHECK_SECONDS": (_int, 3600),
    # Settled webhook events leave the inbox after this; Stripe redelivers for 3 days.
    "STRIPE_EVENT_RETENTION_DAYS": (_int, 30),
    # Security (hub/web/security_headers.py): browser origins allowed to call the API
    # and Socket.IO, comma-separated; none by default (the console is same-origin).
    "CORS_ORIGINS": (str, ""),
    # Real-time (hub/realtime_server, the Procfile's `realtime` process).
    # Engine.IO transports it accepts: long-polling first, then the upgrade to a
    # WebSocket, is what the default browser client does.
    "SOCKETIO_TRANSPORTS": (str, "websocket,polling"),
    "REALTIME_HOST": (str, "127.0.0.1"),
    "REALTIME_PORT": (_int, 5001),
    # Where browsers connect, as GET /api/v1/realtime tells them: an absolute URL
    # (https://rt.example.com), "/" for the API's own origin (a load balancer
    # routes REALTIME_PATH to the real-time processes), or empty for the API
    # request's own scheme and host name on REALTIME_PORT.
    "REALTIME_URL": (str, ""),
    "REALTIME_PATH": (str, "/socket.io"),
    "REALTIME_AUTH_TIMEOUT": (_float, 10.0),
    "REALTIME_MAX_SOCKETS_PER_USER": (_int, 100),
    # 0 = off. Counted per process, by the peer address (REALTIME_TRUSTED_PROXIES).
    "REALTIME_MAX_CONNECTIONS_PER_IP": (_int, 0),
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses
    # or networks, * for any); empty: the peer address is the client.
    "REALTIME_TRUSTED_PROXIES": (str, ""),
    "REALTIME_MAX_CONNECTIONS": (_int, 20000),
    "REALTIME_MAX_SUBSCRIPTIONS_PER_SOCKET": (_int, 100),
    "REALTIME_MAX_MESSAGE_BYTES": (_int, 64 * 1024),
    "REALTIME_RECHECK_SECONDS": (_float, 60.0),
    "REALTIME_DB_THREADS": (_int, 4),
    # Metrics (hub/metrics.py): GET /metrics is open in development; elsewhere it needs
    # `Authorization: Bearer <METRICS_TOKEN>`, or METRICS_PUBLIC=1 on a private network.
    "METRICS_TOKEN": (str, None),
    "METRICS_PUBLIC": (_bool, False),
    "METRICS_CACHE_SECONDS": (_float, 5.0),
    # Workers serve their own /metrics on this port (unset: off).
    "WORKER_METRICS_PORT": (_int, None),
    # Adds a `tenant` label to hub_jobs and to the attempt, webhook and integration
    # counters. Off: a tenant id per series multiplies them by the number of tenants.
    "METRICS_TENANT_LABELS": (_bool, False),
    # The operator's view (staff, /api/v1/operations): jobs one bulk retry or cancel may
    # touch, how often staff may run one, and when a sent job that has not started is stuck.
    "OPS_BULK_MAX": (_int, 500),
    "OPS_BULK_RATE_LIMIT": (str, "10 per minute"),
    "OPS_STUCK_SECONDS": (_int, 600),
    # OpenTelemetry tracing (hub/tracing.py), by the standard variables: on when an OTLP
    # endpoint or an exporter is named; the SDK reads the other OTEL_* variables itself.
    "OTEL_SDK_DISABLED": (_bool, False),
    "OTEL_TRACES_EXPORTER": (str, None),
    "OTEL_EXPORTER_OTLP_ENDPOINT": (str, None),
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": (str, None),
}


def load_config(overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the app config from the environment, then apply `overrides`."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    cfg: dict[str, Any] = {}
    for name, (parse, default) in SETTINGS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            cfg[name] = default
            continue
        try:
            cfg[name] = parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    cfg.update(overrides)

    env = cfg["HUB_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"HUB_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    if env != "production":
        for name, placeholder in DEV_SECRETS.items():
            cfg[name] = cfg.get(name) or placeholder

    if cfg["ACCOUNT_EMAIL_VERIFICATION"] is None:
        cfg["ACCOUNT_EMAIL_VERIFICATION"] = env == "production"
    cfg.update(_derived(cfg))
    cfg.update(overrides)  # explicit overrides win over derived values too
    return cfg


def _derived(cfg: dict[str, Any]) -> dict[str, Any]:
    """Settings of the libraries we use, derived from ours."""
    return {
        "TESTING": cfg["HUB_ENV"] == "testing",
        "SQLALCHEMY_DATABASE_URI": cfg["DATABASE_URL"],
        # Connections idle for a while are pinged before use (hub.extensions.ping_when_idle).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=cfg["JWT_ACCESS_TOKEN_MINUTES"]),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=cfg["JWT_REFRESH_TOKEN_DAYS"]),
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ERROR_MESSAGE_KEY": "message",
        "RATELIMIT_STORAGE_URI": cfg["REDIS_URL"],
        # If Redis is unreachable, keep limiting per process instead of
        # letting everything through or failing every request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_DEFAULT": cfg["API_RATE_LIMIT"],
        "API_TITLE": "Integration Hub API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/docs/swagger-ui/",  # hub/api/docs.py: packaged, pinned
        # No spec validator badge: it would send the document's URL to a third party.
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        "JSON_SORT_KEYS": False,
    }


def check_config(cfg: dict[str, Any]) -> None:
    """Refuse settings that must not reach production; name the setting."""
    check_job_settings(cfg)
    check_mail_settings(cfg)
    check_integration_settings(cfg)
    check_storage_settings(cfg)
    check_password_settings(cfg)
    if (cfg.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower() not in ("otlp", "console", "none"):
        raise ConfigError("OTEL_TRACES_EXPORTER must be otlp, console or none")
    if cfg["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, not {cfg['LOG_FORMAT']!r}")
    if not cfg["DATABASE_URL"].startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        raise ConfigError("DATABASE_URL must point at PostgreSQL (postgresql+psycopg://user@host/db)")
    if cfg["HUB_ENV"] != "production":
        return
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = cfg.get(name)
        if not value:
            raise ConfigError(f"{name} must be set in production (HUB_ENV=production)")
        if value == DEV_SECRETS[name]:
            raise ConfigError(f"{name} is the development placeholder; set a real secret")
        if len(value) < MIN_SECRET_LENGTH:
            raise ConfigError(f"{name} is too short; use at least {MIN_SECRET_LENGTH} random characters")
    flower = cfg.get("FLOWER_BASIC_AUTH")
    if flower == DEV_FLOWER_BASIC_AUTH:
        raise ConfigError("FLOWER_BASIC_AUTH is the development placeholder; set user:password")
    if not cfg.get("METRICS_TOKEN") and not cfg.get("METRICS_PUBLIC"):
        raise ConfigError("METRICS_TOKEN must be set in production (scrapers send it as a bearer "
                          "token), or METRICS_PUBLIC=1 when /metrics is reachable only privately")
    if not cfg.get("ENCRYPTION_KEYS"):
        raise ConfigError("ENCRYPTION_KEYS must be set in production: comma-separated Fernet keys, "
                          "the first encrypts (see README, 'Secrets at rest')")


# OWASP's smallest recommended argon2id cost (19 MiB, 2 passes, 1 lane).
MIN_PRODUCTION_ARGON2 = {"ARGON2_MEMORY_KIB": 19456, "ARGON2_TIME_COST": 2}


def check_password_settings(cfg: dict[str, Any]) -> None:
    """argon2 parameters argon2 itself refuses (any environment) or too weak for production."""
    if not 0 <= cfg["PASSWORD_MIN_SCORE"] <= 4:
        raise ConfigError("PASSWORD_MIN_SCORE must be 0-4 (zxcvbn's scores)")
    if cfg["ARGON2_TIME_COST"] < 1 or cfg["ARGON2_PARALLELISM"] < 1:
        raise ConfigError("ARGON2_TIME_COST and ARGON2_PARALLELISM must be at least 1")
    if cfg["ARGON2_MEMORY_KIB"] < 8 * cfg["ARGON2_PARALLELISM"]:
        raise ConfigError("ARGON2_MEMORY_KIB must be at least 8 × ARGON2_PARALLELISM")
    if cfg["HUB_ENV"] == "production":
        for name, least in MIN_PRODUCTION_ARGON2.items():
            if cfg[name] < least:
                raise ConfigError(f"{name} must be at least {least} in production")


def check_flow_limits(flows: Any) -> None:
    """FLOW_LIMITS: key pattern -> {"rate": "N/second"} and/or {"concurrency": N}."""
    from limits import parse

    if not isinstance(flows, dict):
        raise ConfigError("FLOW_LIMITS must be a JSON object of key pattern -> {rate, concurrency}")
    for key, limits in flows.items():
        try:
            if not isinstance(limits, dict) or not limits or set(limits) - {"rate", "concurrency"}:
                raise ValueError("give a rate, a concurrency or both, and nothing else")
            if "*" in key[:-1] or (key.endswith("*") and not key.endswith(":*")):
                raise ValueError("a pattern is an exact key or ends in ':*'")
            if "rate" in limits:
                parse(limits["rate"])
            if "concurrency" in limits and (isinstance(limits["concurrency"], bool)
                                            or int(limits["concurrency"]) < 1):
                raise ValueError("concurrency must be at least 1")
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"FLOW_LIMITS[{key!r}]: {exc}") from None


def check_job_settings(cfg: dict[str, Any]) -> None:
    """Job settings that would break the pipeline's guarantees; any environment."""
    from limits import parse

    tiers = cfg["JOB_TIER_LIMITS"]
    if not isinstance(tiers, dict) or not tiers:
        raise ConfigError("JOB_TIER_LIMITS must be a JSON object of tier -> {rate, concurrency}")
    for tier, limits in tiers.items():
        try:
            parse(limits["rate"])
            if int(limits["concurrency"]) < 1:
                raise ValueError("concurrency must be at least 1")
            if limits.get("max_priority", "high") not in ("low", "normal", "high"):
                raise ValueError("max_priority must be low, normal or high")
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"JOB_TIER_LIMITS[{tier!r}]: {exc}") from None
    check_flow_limits(cfg["FLOW_LIMITS"])
    quota = cfg["TENANT_STORAGE_QUOTA_BYTES"]
    if not isinstance(quota, dict) or any(
            v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0)
            for v in quota.values()):
        raise ConfigError("TENANT_STORAGE_QUOTA_BYTES must be a JSON object of tier -> bytes (or null)")
    if cfg["JOB_BATCH_MAX"] < 1:
        raise ConfigError("JOB_BATCH_MAX must be at least 1")
    if cfg["JOB_LEASE_SECONDS"] < 2:
        raise ConfigError("JOB_LEASE_SECONDS must be at least 2")
    transports = [t.strip() for t in cfg["SOCKETIO_TRANSPORTS"].split(",") if t.strip()]
    if not transports or not set(transports) <= {"websocket", "polling"}:
        raise ConfigError("SOCKETIO_TRANSPORTS must list websocket and/or polling, comma-separated")
    for name in ("REALTIME_AUTH_TIMEOUT", "REALTIME_RECHECK_SECONDS"):
        if cfg[name] <= 0:
            raise ConfigError(f"{name} must be a positive number of seconds")
    for name in ("REALTIME_MAX_SOCKETS_PER_USER", "REALTIME_MAX_CONNECTIONS",
                 "REALTIME_MAX_SUBSCRIPTIONS_PER_SOCKET", "REALTIME_DB_THREADS",
                 "REALTIME_MAX_MESSAGE_BYTES", "REALTIME_PORT"):
        if cfg[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    if cfg["REALTIME_MAX_CONNECTIONS_PER_IP"] < 0:
        raise ConfigError("REALTIME_MAX_CONNECTIONS_PER_IP must be 0 (off) or a positive number")
    url = cfg["REALTIME_URL"]
    if url and not (url.startswith("/") or url.startswith(("http://", "https://"))):
        raise ConfigError("REALTIME_URL must be empty, a path starting with /, or an http(s) URL")
    if not cfg["REALTIME_PATH"].startswith("/"):
        raise ConfigError("REALTIME_PATH must start with /")


def check_mail_settings(cfg: dict[str, Any]) -> None:
    """Mail settings that cannot work; any environment."""
    from email.utils import parseaddr

    if cfg["HUB_ENV"] == "production" and not cfg["MAIL_TLS_VERIFY"]:
        raise ConfigError("MAIL_TLS_VERIFY=false sends the SMTP password to whoever answers; "
                          "in production point MAIL_TLS_CA_FILE at the relay's CA instead")
    if cfg["MAIL_USE_TLS"] and cfg["MAIL_USE_SSL"]:
        raise ConfigError("MAIL_USE_TLS (STARTTLS) and MAIL_USE_SSL (implicit TLS) exclude each other")
    if cfg["MAIL_TLS_CA_FILE"] and not os.path.isfile(cfg["MAIL_TLS_CA_FILE"]):
        raise ConfigError(f"MAIL_TLS_CA_FILE {cfg['MAIL_TLS_CA_FILE']!r} is not a readable file")
    if "@" not in parseaddr(cfg["MAIL_DEFAULT_SENDER"] or "")[1]:
        raise ConfigError("MAIL_DEFAULT_SENDER must be an address, e.g. 'Hub <no-reply@example.com>'")
    if bool(cfg["MAIL_USERNAME"]) != bool(cfg["MAIL_PASSWORD"]):
        raise ConfigError("set both MAIL_USERNAME and MAIL_PASSWORD, or neither")
    for name in ("EMAIL_DAILY_LIMIT", "EMAIL_MAX_RECIPIENTS"):
        if cfg[name] < 1:
            raise ConfigError(f"{name} must be at least 1")
    if cfg["EMAIL_RETRY_BASE_SECONDS"] <= 0 or cfg["MAIL_TIMEOUT"] <= 0:
        raise ConfigError("EMAIL_RETRY_BASE_SECONDS and MAIL_TIMEOUT must be positive")
def check_integration_settings(cfg: dict[str, Any]) -> None:
    """Encryption keys and webhook settings that would not work; any environment."""
    from hub.integrations.crypto import parse_keys

    if cfg.get("ENCRYPTION_KEYS"):
        try:
            parse_keys(cfg["ENCRYPTION_KEYS"])
        except ValueError as exc:
            raise ConfigError(f"ENCRYPTION_KEYS: {exc}") from None
    schedule = cfg["WEBHOOK_RETRY_SCHEDULE"]
    if (not isinstance(schedule, list) or not schedule
            or not all(isinstance(s, int | float) and not isinstance(s, bool) and s > 0 for s in schedule)):
        raise ConfigError("WEBHOOK_RETRY_SCHEDULE must be a JSON list of positive numbers of seconds")
    if cfg["WEBHOOK_TIMEOUT_SECONDS"] <= 0:
        raise ConfigError("WEBHOOK_TIMEOUT_SECONDS must be positive")
    if cfg["STRIPE_EVENT_RETENTION_DAYS"] < 3:  # Stripe retries a delivery for up to 3 days
        raise ConfigError("STRIPE_EVENT_RETENTION_DAYS must be at least 3: the inbox de-duplicates "
                          "Stripe's redeliveries, which go on for 3 days")
S3_MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (all but the last)


def check_storage_settings(cfg: dict[str, Any]) -> None:
    """File storage settings that cannot work (S3_BUCKET is required with the S3 backend)."""
    backend = cfg["STORAGE_BACKEND"]
    if backend not in ("local", "s3"):
        raise ConfigError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")
    if cfg["S3_ADDRESSING_STYLE"] not in ("auto", "path", "virtual"):
        raise ConfigError("S3_ADDRESSING_STYLE must be 'auto', 'path' or 'virtual'")
    if cfg["S3_PART_SIZE"] < S3_MIN_PART_SIZE:
        raise ConfigError(f"S3_PART_SIZE must be at least {S3_MIN_PART_SIZE} bytes (S3's minimum part)")
    if bool(cfg.get("S3_ACCESS_KEY_ID")) != bool(cfg.get("S3_SECRET_ACCESS_KEY")):
        raise ConfigError("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither")
    for name in ("MAX_UPLOAD_BYTES", "STORAGE_UPLOAD_URL_SECONDS", "STORAGE_DOWNLOAD_URL_SECONDS",
                 "FILE_THUMBNAIL_SIZE", "FILE_IMAGE_MAX_PIXELS", "FILE_IMAGE_MAX_DECODE_MB",
                 "FILE_CSV_MAX_ROW_ERRORS", "FILE_PENDING_TTL_HOURS"):
        if cfg[name] < 1:
            raise ConfigError(f"{name} must be a positive number")
    # Refused in every environment (not only production): an S3 backend without
    # a bucket fails every upload, better to say so at start.
    if backend == "s3" and not cfg.get("S3_BUCKET"):
        raise ConfigError("S3_BUCKET must be set when STORAGE_BACKEND=s3")
    check_sync_settings(cfg)


def check_sync_settings(cfg: dict[str, Any]) -> None:
    """Sync settings that cannot work; any environment."""
    for name in ("SYNC_SCHEDULER_INTERVAL", "SYNC_HTTP_TIMEOUT_SECONDS", "SYNC_BATCH_SIZE",
                 "SYNC_MIN_INTERVAL_SECONDS"):
        if cfg[name] <= 0:
            raise ConfigError(f"{name} must be positive")
    for name in ("SYNC_HTTP_RETRIES", "SYNC_HTTP_BACKOFF_SECONDS", "SYNC_MAX_INLINE_WAIT_SECONDS"):
        if cfg[name] < 0:
            raise ConfigError(f"{name} must not be negative")
