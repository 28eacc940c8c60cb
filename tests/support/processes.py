"""Start and stop the hub's real processes (worker, gunicorn, realtime, Flower) in tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ALL_QUEUES = "default,email,files,payments,sync,webhooks,maintenance"


def child_env(config: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment of a hub process configured like the test app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PYTEST_"))}
    env.update({k: json.dumps(v) if isinstance(v, dict | list) else str(v)
                for k, v in config.items()})
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               proc: subprocess.Popen | None = None, interval: float = 0.1,
               reraise: tuple[type[BaseException], ...] = ()) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`.
    Errors of `check` count as "not yet", except those of the `reraise` types."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        try:
            result = check()
            if result:
                return result
        except reraise:
            raise
        except Exception as exc:  # not up yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class HubProcess:
    """A child process with its output in a log file, stopped on exit."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.cmd = cmd
        self.log_path = log_dir / f"{name}-{int(time.time() * 1000)}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, like a crash."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def start_worker(config: dict[str, Any], log_dir: Path, name: str = "worker",
                 concurrency: int = 2, queues: str = ALL_QUEUES, loglevel: str = "INFO") -> HubProcess:
    # The level of the pool's processes, where tasks run, is celery's --loglevel.
    cmd = [str(BIN / "celery"), "-A", "workers.celery_app", "worker", f"--loglevel={loglevel}",
           f"--concurrency={concurrency}", f"--queues={queues}", f"--hostname={name}@%h",
           "--without-gossip", "--without-mingle"]
    return HubProcess(name, cmd, child_env(config), log_dir)


def start_gunicorn(config: dict[str, Any], log_dir: Path, port: int) -> HubProcess:
    # The command of the Procfile and the Dockerfile: settings in gunicorn.conf.py. Only the
    # graceful timeout is shorter, to bound every stop: requests of the tests finish well
    # within 5 s.
    cmd = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}",
           "--graceful-timeout", "5", "wsgi:app"]
    return HubProcess("gunicorn", cmd, child_env(config), log_dir)


def start_realtime(config: dict[str, Any], log_dir: Path, port: int, **env: str) -> HubProcess:
    """The Procfile's `realtime` process (Socket.IO) on 127.0.0.1:`port`, serving once it
    answers its liveness probe."""
    import requests

    cmd = [sys.executable, "-m", "hub.realtime_server"]
    proc = HubProcess("realtime", cmd, child_env(config, REALTIME_PORT=str(port), **env), log_dir)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1).ok,
                   30, "the realtime process to serve /health/live", proc=proc.proc)
    except BaseException:
        proc.stop()
        raise
    return proc


class WebHub:
    """The API (gunicorn) and its realtime process, as the Procfile runs them."""

    def __init__(self, config: dict[str, Any], log_dir: Path) -> None:
        import requests
        from localservices import free_port

        port, realtime_port = free_port(), free_port()
        self.config = {**config, "REALTIME_PORT": realtime_port}
        self.realtime_url = f"http://127.0.0.1:{realtime_port}"
        self.realtime = start_realtime(self.config, log_dir, realtime_port)
        self.gunicorn = start_gunicorn(self.config, log_dir, port)
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: requests.get(self.url + "/health/live", timeout=1).ok, 30,
                       "gunicorn to serve /health/live", proc=self.gunicorn.proc)
        except BaseException:
            self.stop()
            raise

    @property
    def procs(self) -> list[HubProcess]:
        return [self.gunicorn, self.realtime]

    @property
    def pid(self) -> int:
        """gunicorn's (the API's) process id."""
        return self.gunicorn.pid

    def alive(self) -> bool:
        return all(p.proc.poll() is None for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


def start_flower(config: dict[str, Any], log_dir: Path, port: int, basic_auth: str) -> HubProcess:
    cmd = [str(BIN / "celery"), "-A", "workers.celery_app", "flower", f"--port={port}",
           "--address=127.0.0.1", f"--basic-auth={basic_auth}"]
    return HubProcess("flower", cmd, child_env(config), log_dir)


def start_beat(config: dict[str, Any], log_dir: Path) -> HubProcess:
    cmd = [str(BIN / "celery"), "-A", "workers.celery_app", "beat", "--loglevel=INFO"]
    return HubProcess("beat", cmd, child_env(config), log_dir)


def start_ready_worker(celery_app: Any, config: dict[str, Any], log_dir: Path, prefix: str = "worker",
                       **kw: Any) -> HubProcess:
    """A worker named `<prefix>-<random>` that has answered a ping (so it consumes already);
    stopped again if it never does."""
    return start_ready_workers(celery_app, config, log_dir, [prefix], **kw)[0]


def start_ready_workers(celery_app: Any, config: dict[str, Any], log_dir: Path, prefixes: list[str],
                        **kw: Any) -> list[HubProcess]:
    """Workers named `<prefix>-<random>`, booting side by side, each waited until it answers
    a ping; all stopped again if one never does."""
    import uuid

    workers = [start_worker(config, log_dir, name=f"{prefix}-{uuid.uuid4().hex[:6]}", **kw)
               for prefix in prefixes]
    try:
        for worker in workers:
            wait_until(lambda w=worker: any(w.name in host for reply in celery_app.control.ping(timeout=0.5)
                                            for host in reply),
                       timeout=60, what=f"worker {worker.name} to answer a ping", proc=worker.proc)
    except BaseException:
        for worker in workers:
            worker.stop()
        raise
    return workers
