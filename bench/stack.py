"""The hub's real stack for benchmarks: PostgreSQL, Redis, gunicorn, workers."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from localservices import PostgresServer, RedisServer  # noqa: E402

from tests.support.processes import HubProcess, WebHub, child_env  # noqa: E402

UNLIMITED = {"rate": "10000000 per minute", "concurrency": 1000000}


@contextmanager
def hub_stack() -> Iterator[dict[str, Any]]:
    """Start PostgreSQL and Redis, migrate, and yield the settings plus an app."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        pg, redis = PostgresServer(work / "pg"), RedisServer(work / "redis")
        pg.start()
        redis.start()
        # The raw baseline app (bench/rawcelery.py) reads this when first imported.
        os.environ["BENCH_REDIS_URL"] = redis.url
        try:
            config = {
                "HUB_ENV": "testing", "DATABASE_URL": pg.url, "REDIS_URL": redis.url,
                "SECRET_KEY": "bench-" + "s" * 40, "JWT_SECRET_KEY": "bench-" + "j" * 40,
                "JWT_ACCESS_TOKEN_MINUTES": 240, "API_RATE_LIMIT": "10000000 per minute",
                "JOB_TIER_LIMITS": {"standard": UNLIMITED, "enterprise": UNLIMITED, "free": UNLIMITED},
                "LOG_LEVEL": "WARNING", "JOB_RELAY_ENABLED": False,
                "BEAT_SCHEDULE_FILE": str(work / "beat-schedule"),
            }
            from flask_migrate import upgrade

            from hub import create_app

            app = create_app(config)
            with app.app_context():
                upgrade()
            logs = work / "logs"
            logs.mkdir()
            yield {"config": config, "app": app, "logs": logs, "redis_url": redis.url,
                   # Process roots whose CPU time the pipeline benchmarks report.
                   "postgres_pids": lambda: [pg.pid] if pg.pid else [],
                   "redis_pids": lambda: [redis.process.pid] if redis.process else []}
        finally:
            redis.stop()
            pg.stop()


def bench_user(app, tier: str = "enterprise") -> tuple[str, uuid.UUID]:
    """A tenant (on `tier`) + user with an access token, made directly through the services."""
    from hub.extensions import db
    from hub.models import User
    from hub.services import accounts
    from hub.services.accounts import tokens
    from hub.services.accounts.passwords import hash_password

    with app.app_context():
        tenant = accounts.create_tenant("Bench", tier)
        user = User(tenant_id=tenant.id, email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
                    name="Bench", role="owner", password_hash=hash_password("bench-password-1"))
        db.session.add(user)
        db.session.flush()
        pair = tokens.issue_tokens(user)
        db.session.commit()
        return pair["access_token"], tenant.id


def start_api(stack: dict[str, Any]) -> tuple[WebHub, str]:
    """The API (gunicorn) and its realtime process, as the Procfile runs them.

    `.pid` of the returned hub is gunicorn's (the API's CPU); `.realtime` is the
    realtime process."""
    web = WebHub(stack["config"], stack["logs"])
    return web, web.url


def start_celery(stack: dict[str, Any], app_module: str, queues: str, name: str,
                 concurrency: int = 2) -> HubProcess:
    """A worker of either the hub (workers.celery_app) or the raw baseline app."""
    cmd = [sys.executable, "-m", "celery", "-A", app_module, "worker", "--loglevel=WARNING",
           f"--concurrency={concurrency}", "--pool=prefork", f"--queues={queues}",
           f"--hostname={name}@%h", "--without-gossip", "--without-mingle"]
    env = child_env(stack["config"], BENCH_REDIS_URL=stack["redis_url"])
    return HubProcess(name, cmd, env, stack["logs"])


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)
