"""Throw-away PostgreSQL and Redis servers for tests and local development.

Standard library only. Used by ``tests/conftest.py`` (with ``scripts/`` on
``sys.path``) and by ``scripts/run_hub.py``::

    from localservices import PostgresServer, RedisServer

    with PostgresServer() as pg, RedisServer() as redis:
        print(pg.url, redis.url)

Both servers listen on 127.0.0.1 only, on a free port unless one is given,
keep nothing on disk that outlives a temporary directory (unless the caller
passes its own ``workdir``), and are started in their own session so that a
Ctrl-C sent to the terminal's process group does not kill them before the
caller's cleanup runs. ``stop()`` is idempotent, never hangs (SIGTERM, then
SIGKILL) and is also run at interpreter exit for anything still running.

PostgreSQL refuses to run as root: when this process is root, ``initdb`` and
``pg_ctl`` run as the ``postgres`` system user and the cluster's directory is
handed to that user.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "PostgresServer",
    "RedisServer",
    "ServiceError",
    "ensure_chromium",
    "ensure_postgres",
    "ensure_redis_server",
    "free_port",
]

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
POSTGRES_USER = "postgres"
POSTGRES_BINARIES = ("initdb", "pg_ctl", "postgres")
# Longest path a Unix socket may have on Linux is 107 bytes; keep a margin.
_MAX_SOCKET_DIR = 90


class ServiceError(RuntimeError):
    """A local service could not be found, installed, started or stopped."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_install(*packages: str) -> None:
    """Install Debian packages (root only); raise ServiceError on failure."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        print(f"localservices: running {' '.join(cmd)}", file=sys.stderr, flush=True)
        proc = subprocess.run(
            cmd, check=False, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise ServiceError(
                f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n"
                f"{_tail(proc.stdout + proc.stderr)}"
            )


def _can_apt() -> bool:
    return _is_root() and shutil.which("apt-get") is not None


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _read_tail(path: Path, lines: int = 30) -> str:
    try:
        return _tail(path.read_text(errors="replace"), lines)
    except OSError:
        return "(no log file)"


def _ping_redis(port: int, timeout: float = 1.0) -> bool:
    """True if a Redis server on 127.0.0.1:port answers PING with +PONG."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = sock.recv(64)
                if not chunk:
                    break
                data += chunk
            return data.startswith(b"+PONG")
    except OSError:
        return False


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# Strong references on purpose: a server the caller forgot about is still stopped at exit.
_LIVE: set[_Service] = set()


def _stop_all_at_exit() -> None:
    for service in list(_LIVE):
        try:
            service.stop()
            service.cleanup()
        except Exception as exc:  # noqa: BLE001 - best effort at exit
            print(f"localservices: stopping {service!r} failed: {exc}", file=sys.stderr)


atexit.register(_stop_all_at_exit)


class _Service:
    """Shared context-manager plumbing and temp-dir ownership."""

    def __init__(self, workdir: Path | None, prefix: str) -> None:
        self._given_workdir = Path(workdir).resolve() if workdir is not None else None
        self._prefix = prefix
        self._owned_dirs: list[Path] = []
        self.workdir: Path | None = self._given_workdir

    def _make_workdir(self) -> Path:
        if self._given_workdir is not None:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self.workdir = self._given_workdir
        elif self.workdir is None or not self.workdir.exists():
            self.workdir = self._own_tempdir()
        return self.workdir

    def _own_tempdir(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix=self._prefix))
        self._owned_dirs.append(path)
        return path

    def cleanup(self) -> None:
        """Remove the temporary directories this object created (never a given workdir)."""
        while self._owned_dirs:
            path = self._owned_dirs.pop()
            # As root this removes files owned by the postgres user as well.
            shutil.rmtree(path, ignore_errors=True)
        if self._given_workdir is None:
            self.workdir = None

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Any:
        try:
            self.start()
        except BaseException:
            self.stop()
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()


# --------------------------------------------------------------------------- Redis


def ensure_redis_server() -> str:
    """Return the path of ``redis-server``, installing Debian's package if we can.

    Installs with apt-get only when running as root on a machine that has it;
    otherwise raises ServiceError saying what to install.
    """
    path = shutil.which("redis-server")
    if path:
        return path
    if _can_apt():
        _apt_install("redis-server")
        path = shutil.which("redis-server")
        if path:
            return path
        raise ServiceError("apt-get installed redis-server but it is not on PATH")
    raise ServiceError(
        "redis-server was not found on PATH. Install it with "
        "`sudo apt-get install redis-server` (Debian/Ubuntu) or "
        "`brew install redis` (macOS), then try again."
    )


class RedisServer(_Service):
    """A private ``redis-server`` on 127.0.0.1 without persistence.

    ``restart()`` stops and starts it again on the same port, which loses all
    data: tests use it to simulate a broker outage.
    """

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        super().__init__(workdir, "hub-redis-")
        self._fixed_port = port is not None
        self.port: int = port if port is not None else free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def __repr__(self) -> str:
        return f"RedisServer(port={self.port}, running={self.running})"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://{HOST}:{self.port}/0"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait (up to 20 s) until it answers PING."""
        if self.running:
            return
        binary = ensure_redis_server()
        workdir = self._make_workdir()
        self.log_path = workdir / "redis.log"
        attempts = 1 if self._fixed_port else 3
        last_error = ""
        _LIVE.add(self)  # from here on, stopped at exit even if start() is interrupted
        for attempt in range(attempts):
            if attempt:
                self.port = free_port()
            if self._launch(binary, workdir):
                return
            last_error = _read_tail(self.log_path)
            self._kill()
        _LIVE.discard(self)
        raise ServiceError(
            f"redis-server did not answer PING on {HOST}:{self.port} within "
            f"{START_TIMEOUT:.0f}s. Log tail ({self.log_path}):\n{last_error}"
        )

    def _launch(self, binary: str, workdir: Path) -> bool:
        assert self.log_path is not None
        # Truncate the log so the tail shown on failure is from this start.
        self.log_path.write_text("")
        cmd = [
            binary,
            "--bind", HOST,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--dir", str(workdir),
            "--logfile", str(self.log_path),
        ]
        self.process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            start_new_session=True,  # a Ctrl-C to our process group must not kill it
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if _ping_redis(self.port):
                return True
            time.sleep(0.05)
        return False

    def _kill(self) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        self.process = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s). Safe to call twice."""
        self._kill()
        _LIVE.discard(self)

    def restart(self) -> None:
        """Stop and start again on the same port (all data is lost)."""
        self.stop()
        self._fixed_port = True
        self.start()


# --------------------------------------------------------------------------- PostgreSQL


def _find_postgres_bindir() -> str | None:
    """Directory holding initdb/pg_ctl/postgres, or None.

    Looks on PATH first, then under /usr/lib/postgresql/*/bin (newest first).
    """
    found = [shutil.which(name) for name in POSTGRES_BINARIES]
    if all(found):
        return str(Path(str(found[0])).resolve().parent)
    candidates = glob.glob("/usr/lib/postgresql/*/bin")

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.name)
        except ValueError:
            return 0.0

    for bindir in sorted(candidates, key=version, reverse=True):
        if all(os.access(os.path.join(bindir, name), os.X_OK) for name in POSTGRES_BINARIES):
            return bindir
    return None


def _prepend_path(bindir: str) -> None:
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *[p for p in parts if p]])


def ensure_postgres() -> None:
    """Make sure ``initdb``, ``pg_ctl`` and ``postgres`` can be run.

    Binaries found under /usr/lib/postgresql/*/bin are added to PATH. If none
    are found and we are root with apt-get, Debian's ``postgresql`` package is
    installed; otherwise ServiceError says what to install.
    """
    bindir = _find_postgres_bindir()
    if bindir is None and _can_apt():
        _apt_install("postgresql")
        bindir = _find_postgres_bindir()
    if bindir is None:
        raise ServiceError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH "
            "or under /usr/lib/postgresql/*/bin. Install them with "
            "`sudo apt-get install postgresql` (Debian/Ubuntu; the binaries land in "
            "/usr/lib/postgresql/<version>/bin) or `brew install postgresql@15` (macOS)."
        )
    if not all(shutil.which(name) for name in POSTGRES_BINARIES):
        _prepend_path(bindir)


def _postgres_ids() -> tuple[int, int]:
    """uid and gid of the postgres system user (created if missing, root only)."""
    import pwd

    try:
        entry = pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        if not shutil.which("useradd"):
            raise ServiceError(
                "running as root, PostgreSQL needs an unprivileged 'postgres' user; "
                "create it (e.g. `useradd --system postgres`)"
            ) from None
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--shell", "/usr/sbin/nologin", POSTGRES_USER],
            check=True, capture_output=True,
        )
        entry = pwd.getpwnam(POSTGRES_USER)
    return entry.pw_uid, entry.pw_gid


class PostgresServer(_Service):
    """A private PostgreSQL cluster on 127.0.0.1 with trust auth.

    The cluster lives in ``<workdir>/data`` (a temp dir when ``workdir`` is
    None); its log is ``<workdir>/postgres.log`` and its Unix socket is in
    ``<workdir>``. ``start()`` also creates database ``dbname``. Throw-away
    clusters (tests, benchmarks) run with fsync off; ``durable=True`` (the
    ``make run`` database, kept under ``instance/``) keeps PostgreSQL's defaults.
    """

    def __init__(
        self,
        workdir: Path | None = None,
        port: int | None = None,
        dbname: str = "hub_test",
        durable: bool = False,
    ) -> None:
        super().__init__(workdir, "hub-pg-")
        self.durable = durable
        self.port: int = port if port is not None else free_port()
        self.dbname = dbname
        self.host = HOST
        self.data_dir: Path | None = None
        self.log_path: Path | None = None
        self.socket_dir: Path | None = None
        self._bindir: str | None = None
        self._run_as: tuple[int, int] | None = None
        self._started = False

    def __repr__(self) -> str:
        return f"PostgresServer(port={self.port}, dbname={self.dbname!r}, running={self.running})"

    @property
    def url(self) -> str:
        """SQLAlchemy URL: ``postgresql+psycopg://postgres@127.0.0.1:<port>/<dbname>``."""
        return self.url_for(self.dbname)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL of another database on this server."""
        return f"postgresql+psycopg://{POSTGRES_USER}@{HOST}:{self.port}/{dbname}"

    @property
    def dsn(self) -> str:
        """libpq URL (for psql / psycopg directly)."""
        return f"postgresql://{POSTGRES_USER}@{HOST}:{self.port}/{self.dbname}"

    @property
    def running(self) -> bool:
        """True while the postmaster's pid file exists and that process is alive."""
        pid = self._postmaster_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    # -- internals -----------------------------------------------------------

    def _bin(self, name: str) -> str:
        assert self._bindir is not None
        path = os.path.join(self._bindir, name)
        if os.access(path, os.X_OK):
            return path
        found = shutil.which(name)
        if not found:
            raise ServiceError(f"{name} not found (looked in {self._bindir} and PATH)")
        return found

    def _run(
        self, cmd: list[str], *, as_owner: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool, as the postgres user when we are root."""
        kwargs: dict[str, Any] = {}
        env = dict(os.environ)
        for var in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"):
            env.pop(var, None)
        if as_owner and self._run_as is not None:
            uid, gid = self._run_as
            kwargs.update(user=uid, group=gid, extra_groups=[])
            env["HOME"] = str(self.workdir)
            env["USER"] = env["LOGNAME"] = POSTGRES_USER
        return subprocess.run(
            cmd,
            check=False,
            cwd="/",  # the postgres user may not be able to enter our cwd
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # the postmaster must survive a Ctrl-C to our group
            **kwargs,
        )

    def _reachable_by_owner(self, path: Path) -> bool:
        if self._run_as is None:
            return True
        probe = self._run(
            ["/bin/sh", "-c", 'test -d "$1" && test -w "$1" && test -x "$1"', "sh", str(path)],
        )
        return probe.returncode == 0

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while it runs (its backends are its children)."""
        return self._postmaster_pid()

    def _postmaster_pid(self) -> int | None:
        if self.data_dir is None:
            return None
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first.strip())
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _locale() -> str:
        try:
            out = subprocess.run(
                ["locale", "-a"], check=False, capture_output=True, text=True, timeout=10
            ).stdout.lower().split()
        except (OSError, subprocess.SubprocessError):
            return "C"
        return "C.UTF-8" if {"c.utf8", "c.utf-8"} & set(out) else "C"

    # -- public --------------------------------------------------------------

    def start(self) -> None:
        """initdb (first time), start the server and create ``dbname``.

        On any failure the server is stopped again before the error is raised.
        """
        if self._started and self.running:
            return
        ensure_postgres()
        self._bindir = str(Path(_find_postgres_bindir() or "").resolve())
        self._run_as = _postgres_ids() if _is_root() else None
        workdir = self._make_workdir()
        if self._run_as is not None:
            if self._given_workdir is None:
                os.chown(workdir, *self._run_as)
                os.chmod(workdir, 0o700)
            else:
                os.chown(workdir, *self._run_as)
                if not self._reachable_by_owner(workdir):
                    # e.g. a pytest tmp dir under /tmp/pytest-of-root (mode 0700):
                    # keep the cluster in a private temp dir instead.
                    self.workdir = workdir = self._own_tempdir()
                    os.chown(workdir, *self._run_as)
                    os.chmod(workdir, 0o700)
        self.data_dir = workdir / "data"
        self.log_path = workdir / "postgres.log"
        self.socket_dir = workdir
        if len(str(workdir)) > _MAX_SOCKET_DIR:
            self.socket_dir = Path(tempfile.mkdtemp(prefix="hub-pgsock-"))
            self._owned_dirs.append(self.socket_dir)
            if self._run_as is not None:
                os.chown(self.socket_dir, *self._run_as)
        self._started = True
        _LIVE.add(self)
        try:
            self._initdb()
            self._pg_start()
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise

    def _initdb(self) -> None:
        assert self.data_dir is not None
        if (self.data_dir / "PG_VERSION").exists():
            return
        proc = self._run([
            self._bin("initdb"),
            "-D", str(self.data_dir),
            "-U", POSTGRES_USER,
            "--auth=trust",
            "--encoding=UTF8",
            f"--locale={self._locale()}",
            "--no-sync",
        ])
        if proc.returncode != 0:
            raise ServiceError(f"initdb failed:\n{_tail(proc.stdout + proc.stderr)}")

    def _pg_start(self) -> None:
        assert self.data_dir is not None and self.log_path is not None
        fast = [] if self.durable else ["-c fsync=off", "-c synchronous_commit=off",
                                        "-c full_page_writes=off"]
        options = " ".join([
            f"-p {self.port}",
            f"-k {self.socket_dir}",
            f"-c listen_addresses={HOST}",
            *fast,
            "-c max_connections=200",
        ])
        try:
            proc = self._run(
                [self._bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path),
                 "-o", options, "-w", "-t", str(int(START_TIMEOUT * 3)), "start"],
                timeout=START_TIMEOUT * 3 + 10,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(
                f"pg_ctl start timed out. Log tail ({self.log_path}):\n"
                f"{_read_tail(self.log_path)}"
            ) from None
        if proc.returncode != 0:
            raise ServiceError(
                f"pg_ctl start failed on port {self.port}:\n{_tail(proc.stdout + proc.stderr)}\n"
                f"Log tail ({self.log_path}):\n{_read_tail(self.log_path)}"
            )

    def create_database(self, dbname: str) -> str:
        """Create database ``dbname`` if missing; return its SQLAlchemy URL."""
        createdb = self._bin("createdb")
        proc = self._run(
            [createdb, "-h", HOST, "-p", str(self.port), "-U", POSTGRES_USER, dbname],
            as_owner=False,
            timeout=60,
        )
        if proc.returncode != 0 and "already exists" not in proc.stderr:
            raise ServiceError(f"createdb {dbname} failed:\n{_tail(proc.stdout + proc.stderr)}")
        return self.url_for(dbname)

    def stop(self) -> None:
        """Stop the server (fast, then immediate, then SIGKILL). Safe to call twice."""
        _LIVE.discard(self)
        if not self._started or self.data_dir is None:
            return
        self._started = False
        if not self.running:
            return
        for mode in ("fast", "immediate"):
            try:
                proc = self._run(
                    [self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode,
                     "-w", "-t", "20", "stop"],
                    timeout=30,
                )
                if proc.returncode == 0 and not self.running:
                    return
            except (subprocess.TimeoutExpired, OSError, ServiceError):
                pass
        pid = self._postmaster_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            deadline = time.monotonic() + 5
            while self.running and time.monotonic() < deadline:
                time.sleep(0.05)


# --------------------------------------------------------------------------- Chromium

CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> str:
    """Return the path of Debian's ``chromium`` (the browser tests drive it), installing it if we can.

    The tests use the distribution's browser through Playwright and never
    download one (no ``playwright install``). Installs with apt-get only when
    running as root on a machine that has it; otherwise raises ServiceError
    saying what to install.
    """
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if _can_apt():
        _apt_install("chromium")
        if os.access(CHROMIUM, os.X_OK):
            return CHROMIUM
        raise ServiceError(f"apt-get installed chromium but {CHROMIUM} is missing")
    raise ServiceError(
        f"{CHROMIUM} was not found; the browser tests need it. Install it with "
        "`sudo apt-get install chromium` (Debian/Ubuntu), then try again."
    )


# --------------------------------------------------------------------------- self-check


def _self_check() -> int:
    """Start both servers, print their URLs, check they answer, stop them."""
    started = time.monotonic()
    with PostgresServer() as pg, RedisServer() as redis:
        print(f"postgres: {pg.url}  (running={pg.running})")
        print(f"redis:    {redis.url}  (running={redis.running})")
        assert _port_open(pg.port), "postgres port not open"
        assert _ping_redis(redis.port), "redis does not answer PING"
        old_port = redis.port
        redis.restart()
        assert redis.port == old_port and _ping_redis(redis.port), "redis restart failed"
        print("redis restart on the same port: ok")
        workdirs = [pg.workdir, redis.workdir]
    assert not pg.running and not redis.running, "servers still running after exit"
    assert not _port_open(pg.port) and not _port_open(redis.port), "ports still open"
    assert all(w is None or not w.exists() for w in workdirs), "temp dirs left behind"
    print(f"stopped and cleaned up: ok ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(_self_check())
