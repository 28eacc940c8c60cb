"""Memory of the API process during a large upload: `POST /api/v1/files` streams.

    .venv/bin/python bench/upload_memory.py [--size-mb 200] [--backends local,s3] [--no-baseline]
                                            [--json PATH]

Starts what it needs on loopback: a private Redis, a SQLite database in a temp
dir, the hub under gunicorn exactly as the README runs it, and for `s3`
moto's S3 server (a separate process, so its memory is not counted). Then it
uploads a file of `--size-mb` MB as a streamed multipart body (the client
never holds it either) and reads the gunicorn worker's RSS from /proc:
before, peak during (the kernel's high-water mark, reset before the upload,
and a 5 ms sampler) and after. For comparison the same body goes, under the
same gunicorn flags, to two usual ways of receiving it (bench/baseline_app.py):
reading it whole, and werkzeug's form parser that spools to a temp file.
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from localservices import PostgresServer, RedisServer, free_port  # noqa: E402

from bench import cli  # noqa: E402

# The Procfile's command (gunicorn.conf.py), with one worker process: its RSS is
# what one upload costs, whatever WEB_CONCURRENCY a deployment runs.
GUNICORN = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
MB = 1024 * 1024
BOUNDARY = "bench-boundary-7d9f2c"


# --- memory of a process ---------------------------------------------------------

def _status(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def rss(pid: int) -> int:
    return _status(pid, "VmRSS")


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of `pid` (Linux 4.0+, own or root)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """Polls VmRSS every few milliseconds; keeps the highest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, rss(pid), threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.005):
            self.peak = max(self.peak, rss(self.pid))

    def stop(self) -> int:
        self.stopped.set()
        self.join()
        return self.peak


# --- processes -------------------------------------------------------------------

class Server:
    """gunicorn on a free port; `worker_pid` is the process that serves requests."""

    def __init__(self, app: str, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.port = free_port()
        self.log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([*GUNICORN, "-b", f"127.0.0.1:{self.port}", app], cwd=ROOT,
                                     env={**env, "WEB_CONCURRENCY": "1"}, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.worker_pid = self._wait_for_worker()

    def _wait_for_worker(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.log.name})")
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            if pids and _port_open(self.port):
                return int(pids[0])
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not start ({self.log.name})")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def request(port: int, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json",
                                                    **(headers or {})})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, json.loads(payload) if payload else {}


def upload(port: int, path: str, size: int, headers: dict[str, str]) -> tuple[int, dict, float]:
    """POST a multipart body with one `size`-byte file, made and sent 1 MB at a time."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    block = os.urandom(MB)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.putrequest("POST", path)
    for name, value in {**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "Content-Length": str(len(head) + size + len(tail))}.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(head)
    sent = 0
    while sent < size:
        piece = block[: min(MB, size - sent)]
        conn.send(piece)
        sent += len(piece)
    conn.send(tail)
    resp = conn.getresponse()
    payload = resp.read()
    seconds = time.perf_counter() - started
    conn.close()
    try:
        return resp.status, json.loads(payload), seconds
    except ValueError:
        return resp.status, {"raw": payload[:200].decode(errors="replace")}, seconds


def measure(server: Server, path: str, size: int, headers: dict[str, str]) -> dict[str, Any]:
    """Upload once to warm up, then measure one upload of `size` bytes."""
    status, body, _ = upload(server.port, path, MB, headers)
    if status >= 300:
        raise SystemExit(f"warm-up upload to {path} failed: {status} {body}")
    time.sleep(0.5)
    pid = server.worker_pid
    before = rss(pid)
    exact_peak = reset_peak(pid)
    sampler = Sampler(pid)
    sampler.start()
    status, body, seconds = upload(server.port, path, size, headers)
    sampled = sampler.stop()
    peak = max(sampled, _status(pid, "VmHWM")) if exact_peak else sampled
    time.sleep(0.5)
    after = rss(pid)
    if status >= 300:
        raise SystemExit(f"upload to {path} failed: {status} {body}")
    return {"before": before, "peak": peak, "after": after, "seconds": seconds,
            "growth": peak - before, "exact_peak": exact_peak}


# --- the hub and the baselines ------------------------------------------------------

def hub_env(tmp: Path, db_url: str, redis_url: str, size: int, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "S3_", "STORAGE_"))}
    env.update({
        "HUB_ENV": "development", "DATABASE_URL": db_url,
        "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "API_RATE_LIMIT": "100000 per minute",
        "STORAGE_LOCAL_ROOT": str(tmp / "storage"), "MAX_UPLOAD_BYTES": str(size + 10 * MB),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def start_moto(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(tmp / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not _port_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("moto_server did not start")
        time.sleep(0.2)
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                 aws_secret_access_key="bench").create_bucket(Bucket="bench")
    return proc, endpoint


def run_hub(tmp: Path, db_url: str, redis_url: str, size: int, backend: str) -> dict[str, Any]:
    extra: dict[str, str] = {}
    moto = None
    if backend == "s3":
        moto, endpoint = start_moto(tmp)
        extra = {"STORAGE_BACKEND": "s3", "S3_BUCKET": "bench", "S3_ENDPOINT_URL": endpoint,
                 "S3_ACCESS_KEY_ID": "bench", "S3_SECRET_ACCESS_KEY": "bench"}
    env = hub_env(tmp, db_url, redis_url, size, extra)
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    server = Server("wsgi:app", env, tmp, f"hub-{backend}")
    try:
        status, body = request(server.port, "POST", "/api/v1/auth/register", {
            "tenant_name": "Bench", "name": "Bench", "password": "bench-password-123",
            "email": f"bench-{backend}-{time.time_ns()}@example.com"})
        if status != 201:
            raise SystemExit(f"register failed: {status} {body}")
        token = body["data"]["access_token"]
        return measure(server, "/api/v1/files", size, {"Authorization": f"Bearer {token}"})
    finally:
        server.stop()
        if moto is not None:
            moto.terminate()
            moto.wait(15)


def run_baselines(tmp: Path, size: int) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    server = Server("bench.baseline_app:app", env, tmp, "baseline")
    try:
        return {"read whole body": measure(server, "/read-all", size, {}),
                "werkzeug form (temp file)": measure(server, "/form", size, {})}
    finally:
        server.stop()


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--backends", default="local,s3")
    parser.add_argument("--no-baseline", action="store_true")
    args = cli.parse(parser)
    size = args.size_mb * MB
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp_name:
        tmp = Path(tmp_name)
        redis = RedisServer(tmp / "redis")
        redis.start()
        pg = PostgresServer(tmp / "pg")
        pg.start()
        try:
            for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
                print(f"uploading {args.size_mb} MB to the hub ({backend} storage) ...", flush=True)
                results[f"hub POST /files ({backend})"] = run_hub(tmp, pg.url, redis.url, size, backend)
            if not args.no_baseline:
                print(f"uploading {args.size_mb} MB to the baselines ...", flush=True)
                results.update(run_baselines(tmp, size))
        finally:
            pg.stop()
            redis.stop()
    report(results, size)
    worst = max(r["growth"] for name, r in results.items() if name.startswith("hub"))
    cli.write_figures(args.json, {
        "size_mb": args.size_mb, "limit_growth_mb": 50,
        "runs": {name: {"growth_mb": round(r["growth"] / MB, 1), "peak_mb": round(r["peak"] / MB, 1),
                        "mb_per_s": round(size / MB / r["seconds"], 1), "exact_peak": r["exact_peak"]}
                 for name, r in results.items()}})
    return 0 if worst < 50 * MB else 1


def report(results: dict[str, dict[str, Any]], size: int) -> None:
    def mb(n: float) -> str:
        return f"{n / MB:8.1f}"

    print(f"\nAPI process RSS (MB) during one {size // MB} MB upload (gunicorn.conf.py, 1 worker)")
    print(f"{'receiver':32} {'before':>8} {'peak':>8} {'after':>8} {'growth':>8} "
          f"{'growth/file':>11} {'MB/s':>7}")
    for name, r in results.items():
        print(f"{name:32} {mb(r['before'])} {mb(r['peak'])} {mb(r['after'])} {mb(r['growth'])} "
              f"{r['growth'] / size:10.1%} {size / MB / r['seconds']:7.0f}")
    hub = {n: r for n, r in results.items() if n.startswith("hub")}
    naive = results.get("read whole body")
    for name, r in hub.items():
        verdict = "PASS" if r["growth"] < 50 * MB else "FAIL"
        line = f"{verdict}: {name} grew {r['growth'] / MB:.1f} MB (limit 50 MB)"
        if naive:
            line += f"; reading the body whole grew {naive['growth'] / max(r['growth'], MB):.0f}x more"
        print(line)
    if not all(r["exact_peak"] for r in results.values()):
        print("note: /proc/<pid>/clear_refs was not writable; peaks are from 5 ms sampling")


if __name__ == "__main__":
    sys.exit(main())
