"""Run the whole hub locally: what ``make run`` executes (with the venv's python).

1. A private Redis on a free port (data in ``instance/redis``), unless REDIS_URL is set,
   and a private PostgreSQL (data in ``instance/postgres``), unless DATABASE_URL is set.
2. Development secrets in ``instance/dev.env`` (created once, mode 0600, reused).
3. Environment for the processes (HUB_ENV, DATABASE_URL, REDIS_URL, ports, PATH).
4. ``flask --app wsgi db upgrade`` and ``flask --app wsgi hub seed-demo``.
5. The URLs to open, the Prometheus endpoints among them (the worker's on WORKER_METRICS_PORT, 9808).
6. ``honcho start -f Procfile`` (web, realtime, worker, beat, flower, mail, stripe) until Ctrl-C;
   then the private Redis is stopped and honcho's exit code is returned.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

# Run as a script, this file's directory (scripts/) is already first on sys.path.
from localservices import PostgresServer, RedisServer, ServiceError, ensure_redis_server

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"
DEV_ENV = INSTANCE / "dev.env"
MAIL_DIR = INSTANCE / "mail"
# Origins of the usual frontend dev servers (React/Next, Vite, Vue CLI/webpack).
DEV_CORS_ORIGINS = ",".join(f"http://{host}:{port}" for port in (3000, 5173, 8080)
                            for host in ("localhost", "127.0.0.1"))


def say(message: str) -> None:
    """One progress line, marked so it stands out among the processes' output."""
    print(f"==> {message}", flush=True)


def fail(message: str, code: int = 1) -> SystemExit:
    """Print an error line and return a SystemExit to raise."""
    print(f"run_hub: error: {message}", file=sys.stderr, flush=True)
    return SystemExit(code)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=value lines (blank lines and # comments ignored)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


DEV_SECRETS = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "JWT_SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "FLOWER_BASIC_AUTH": lambda: f"staff:{secrets.token_urlsafe(12)}",
    "DEMO_PASSWORD": lambda: secrets.token_urlsafe(12),
    # Signs the local Stripe's webhooks (scripts/dev_stripe.py), as a real endpoint secret would.
    "STRIPE_WEBHOOK_SECRET": lambda: "whsec_dev_" + secrets.token_urlsafe(24),
}


def ensure_dev_env() -> dict[str, str]:
    """Create instance/dev.env with random secrets once; return its values."""
    if not DEV_ENV.exists():
        values = {name: make() for name, make in DEV_SECRETS.items()}
        body = "# Development secrets made by scripts/run_hub.py; delete to regenerate.\n"
        body += "".join(f"{key}={value}\n" for key, value in values.items())
        fd = os.open(DEV_ENV, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(body)
        say(f"created {DEV_ENV.relative_to(ROOT)} with new development secrets")
    else:
        say(f"using secrets from {DEV_ENV.relative_to(ROOT)}")
        missing = {name: make() for name, make in DEV_SECRETS.items()
                   if name not in read_env_file(DEV_ENV)}
        if missing:  # a dev.env from before these settings existed
            with open(DEV_ENV, "a") as handle:
                handle.write("".join(f"{key}={value}\n" for key, value in missing.items()))
            say(f"added {', '.join(missing)} to {DEV_ENV.relative_to(ROOT)}")
    return read_env_file(DEV_ENV)


def child_env(env: dict[str, str], database_url: str, redis_url: str,
              ports: dict[str, str]) -> dict[str, str]:
    """The processes' environment: what the user set wins, development defaults fill in.

    Development defaults: mail to the local catcher, the usual
    frontend dev-server origins allowed (CORS_ORIGINS), and payments against the
    local Stripe (Procfile `stripe`) unless STRIPE_API_KEY is set.
    """
    env = {**env, **ports, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "PYTHONUNBUFFERED": "1"}
    env.setdefault("HUB_ENV", "development")
    env.setdefault("CORS_ORIGINS", DEV_CORS_ORIGINS)
    mail_port = ports["MAIL_CATCHER_PORT"]
    if not env.get("MAIL_SERVER"):
        env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=mail_port, MAIL_USE_TLS="false",
                   MAIL_USE_SSL="false", MAIL_USERNAME="", MAIL_PASSWORD="")
    env.setdefault("FLOWER_URL", f"http://127.0.0.1:{ports['FLOWER_PORT']}/")  # the console's link
    if not env.get("STRIPE_API_KEY"):
        env.update(STRIPE_API_KEY="sk_test_hub_dev",
                   STRIPE_API_BASE=f"http://127.0.0.1:{ports['STRIPE_DEV_PORT']}")
    env.setdefault("STRIPE_API_BASE", "https://api.stripe.com")
    venv_bin = str(Path(sys.executable).parent)
    path_parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    env["PATH"] = os.pathsep.join([venv_bin, *path_parts])
    return env


def port_in_use(port: int) -> bool:
    """True if something already listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def run_step(title: str, command: str, args: list[str], env: dict[str, str]) -> None:
    """Run one setup command; exit with a clear message if it fails."""
    say(f"{title} ({command})")
    try:
        proc = subprocess.run(args, check=False, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise fail(f"could not run `{command}`: {exc}") from None
    if proc.returncode != 0:
        raise fail(
            f"`{command}` failed with exit code {proc.returncode} (see its output above); "
            "the hub was not started"
        )


def main() -> int:
    os.chdir(ROOT)
    INSTANCE.mkdir(exist_ok=True)
    MAIL_DIR.mkdir(exist_ok=True)

    if not (ROOT / "Procfile").exists():
        raise fail(f"no Procfile in {ROOT}")

    redis: RedisServer | None = None
    postgres: PostgresServer | None = None
    honcho: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C / SIGTERM / SIGHUP: hand it to honcho (which stops web, worker,
        # beat and flower) and keep running until it has exited.
        if honcho is not None and honcho.poll() is None:
            try:
                honcho.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
            except ProcessLookupError:
                pass
        elif honcho is None:
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    hub_port = os.environ.get("HUB_PORT") or "5000"
    realtime_port = os.environ.get("REALTIME_PORT") or "5001"
    stripe_port = os.environ.get("STRIPE_DEV_PORT") or "12111"
    flower_port = os.environ.get("FLOWER_PORT") or "5555"
    mail_port = os.environ.get("MAIL_CATCHER_PORT") or "1025"
    worker_metrics_port = os.environ.get("WORKER_METRICS_PORT") or "9808"
    for name, port in (("HUB_PORT", hub_port), ("REALTIME_PORT", realtime_port),
                       ("FLOWER_PORT", flower_port), ("MAIL_CATCHER_PORT", mail_port),
                       ("STRIPE_DEV_PORT", stripe_port), ("WORKER_METRICS_PORT", worker_metrics_port)):
        if not port.isdigit():
            raise fail(f"{name} must be a port number, not {port!r}")
        if port_in_use(int(port)):
            raise fail(
                f"port {port} on 127.0.0.1 is already in use (is the hub already running?); "
                f"stop that process or set {name} to another port"
            )

    try:
        # 1. Redis
        if os.environ.get("REDIS_URL"):
            redis_url = os.environ["REDIS_URL"]
            say(f"using REDIS_URL from the environment: {redis_url}")
        else:
            try:
                binary = ensure_redis_server()
            except ServiceError as exc:
                raise fail(str(exc)) from None
            redis = RedisServer(workdir=INSTANCE / "redis")
            say(f"starting a private Redis ({binary})")
            try:
                redis.start()
            except ServiceError as exc:
                raise fail(str(exc)) from None
            redis_url = redis.url
            say(f"Redis is up at {redis_url} (log: instance/redis/redis.log)")

        # 1b. PostgreSQL: the one database the hub runs on, here as in tests and production
        if os.environ.get("DATABASE_URL"):
            database_url = os.environ["DATABASE_URL"]
            say("using DATABASE_URL from the environment")
        else:
            postgres = PostgresServer(workdir=INSTANCE / "postgres", dbname="hub", durable=True)
            say("starting a private PostgreSQL (data in instance/postgres; installed first if missing)")
            try:
                postgres.start()
            except ServiceError as exc:
                raise fail(str(exc)) from None
            database_url = postgres.url
            if postgres.workdir != (INSTANCE / "postgres").resolve():
                say(f"the postgres user cannot reach {INSTANCE}: this run's database is temporary "
                    f"({postgres.workdir})")
            say(f"PostgreSQL is up at {database_url}")

        # 2. development secrets; what the user set in the environment wins
        env = dict(os.environ)
        for key, value in ensure_dev_env().items():
            env.setdefault(key, value)

        # 3. environment for the children
        ports = {"HUB_PORT": hub_port, "REALTIME_PORT": realtime_port, "FLOWER_PORT": flower_port,
                 "MAIL_CATCHER_PORT": mail_port, "STRIPE_DEV_PORT": stripe_port,
                 "WORKER_METRICS_PORT": worker_metrics_port}
        env = child_env(env, database_url, redis_url, ports)
        local_stripe = env["STRIPE_API_BASE"] == f"http://127.0.0.1:{stripe_port}"
        say(f"HUB_ENV={env['HUB_ENV']}  DATABASE_URL={env['DATABASE_URL']}")

        # 4. database schema and demo data
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        run_step("migrating the database", "flask --app wsgi db upgrade",
                 [*flask, "db", "upgrade"], env)
        run_step("creating the demo tenant and user", "flask --app wsgi hub seed-demo",
                 [*flask, "hub", "seed-demo"], env)

        # 5. where to look
        user, _, password = env.get("FLOWER_BASIC_AUTH", "").split(",")[0].partition(":")
        base = f"http://127.0.0.1:{hub_port}"
        print(flush=True)
        say("the hub is starting; open:")
        print(f"    Console       {base}/console  (log in as the demo user)", flush=True)
        print(f"    API docs      {base}/docs", flush=True)
        print(f"    OpenAPI       {base}/openapi.json", flush=True)
        print(f"    Health        {base}/health/ready", flush=True)
        print(f"    Socket.IO     http://127.0.0.1:{realtime_port}/socket.io  "
              f"(GET {base}/api/v1/realtime says so to clients)", flush=True)
        if local_stripe:
            print(f"    Stripe        a local fake at http://127.0.0.1:{stripe_port} with last month's "
                  "demo payments; webhooks signed with STRIPE_WEBHOOK_SECRET (instance/dev.env)",
                  flush=True)
        else:
            print(f"    Stripe        {env['STRIPE_API_BASE']} "
                  "(STRIPE_API_KEY is set)", flush=True)
        print(f"    CORS          {env['CORS_ORIGINS'] or 'none'}  "
              "(browser origins allowed besides the hub's own; set CORS_ORIGINS to change)",
              flush=True)
        print(f"    Flower        http://127.0.0.1:{flower_port}/  "
              f"(user {user or '?'}, password {password or '?'})", flush=True)
        print(f"    Metrics       {base}/metrics (API), http://127.0.0.1:{worker_metrics_port}/metrics "
              f"(worker, WORKER_METRICS_PORT), http://127.0.0.1:{flower_port}/metrics (Flower)",
              flush=True)
        if env["MAIL_SERVER"] == "127.0.0.1" and env.get("MAIL_PORT") == mail_port:
            print(f"    Mail          {MAIL_DIR.relative_to(ROOT)}/*.eml  "
                  f"(SMTP catcher on 127.0.0.1:{mail_port}; nothing leaves this machine)", flush=True)
        else:
            print(f"    Mail          sent through {env['MAIL_SERVER']}:{env.get('MAIL_PORT', '25')} "
                  "(MAIL_SERVER is set)", flush=True)
        print("    Press Ctrl-C to stop everything.\n", flush=True)

        # 6. the processes
        # Own session: a Ctrl-C reaches honcho once, forwarded by on_signal, rather than
        # twice (from the terminal and from us).
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", "Procfile"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        while True:
            try:
                code = honcho.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - handler forwards instead
                continue
        return code
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        if honcho is not None and honcho.poll() is None:
            honcho.terminate()
            try:
                honcho.wait(timeout=15)
            except subprocess.TimeoutExpired:
                honcho.kill()
                honcho.wait()
        if redis is not None and redis.running:
            say("stopping the private Redis")
            redis.stop()
        if postgres is not None and postgres.running:
            say("stopping the private PostgreSQL")
            postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
