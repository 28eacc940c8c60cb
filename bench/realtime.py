"""Real-time at scale: sockets one realtime process holds, fan-out, and the API beside them.

Starts PostgreSQL, Redis, gunicorn (the API) and one realtime process as the
Procfile runs them, then, from a client process of its own (asyncio, speaking
Engine.IO over WebSockets by hand, so the client is lighter than the server):

1. the API alone: GET /health/live latency (p50/p99) and the rate of POST /jobs
   from 8 threads, with no socket open — the baseline;
2. the same while `--busy` authenticated sockets are open (default 5,000);
3. `--sockets` authenticated sockets (default 10,000): the realtime process's
   RSS before and after, and so its memory per socket; CPU ms per connect;
4. one `job.updated` to a tenant room of `--room` sockets (default 1,000),
   published from another process through Redis as workers do: the share that
   arrived within 1 s, and p50/p99/max delivery time.

    python bench/realtime.py [--sockets N] [--busy N] [--room N] [--json PATH]
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cli  # noqa: E402
from bench.cpu import CpuMeter, trees  # noqa: E402

# --- the client process ------------------------------------------------------


async def _hold(url: str, token: str, arrivals: list[float], opened: asyncio.Event,
                failed: list[str], closed: list[float]) -> None:
    import websockets

    try:
        async with websockets.connect(url, max_size=2**20, ping_interval=None,
                                      compression=None, open_timeout=60) as ws:
            assert (await ws.recv()).startswith("0{")
            await ws.send("40" + json.dumps({"token": token}))
            answer = await ws.recv()
            if not answer.startswith("40{"):
                failed.append(answer[:120])
                return
            opened.set()
            async for packet in ws:
                if packet == "2":
                    await ws.send("3")
                elif packet.startswith('42["job.updated"'):
                    arrivals.append(time.time())
            closed.append(time.time())
    except Exception as exc:  # noqa: BLE001 - counted and reported
        failed.append(f"{type(exc).__name__}: {exc}"[:120])
        opened.set()


def client_main(conn: Any, url: str) -> None:
    """Run in its own process: open sockets on command, report arrivals."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        arrivals: dict[str, list[float]] = {}
        failed: list[str] = []
        tasks: list[asyncio.Task] = []
        limit = asyncio.Semaphore(200)

        async def open_one(group: str, token: str) -> None:
            async with limit:
                ready = asyncio.Event()
                tasks.append(asyncio.create_task(
                    _hold(url, token, arrivals.setdefault(group, []), ready, failed,
                          arrivals.setdefault("closed:" + group, []))))
                await ready.wait()

        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "open":
                _, group, token, count = command
                started = time.monotonic()
                before = len(failed)
                await asyncio.gather(*(open_one(group, token) for _ in range(count)))
                conn.send({"opened": count - (len(failed) - before),
                           "seconds": round(time.monotonic() - started, 2),
                           "errors": failed[before:before + 5]})
            elif command[0] == "arrivals":
                conn.send(list(arrivals.get(command[1], [])))
            else:
                for task in tasks:
                    task.cancel()
                conn.send("closed")
                return

    asyncio.run(serve())


# --- the measuring side --------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def api_under(base: str, token: str, seconds: float) -> dict[str, Any]:
    """/health/live latency (sequential) and the POST /jobs rate from 8 threads."""
    import requests

    session = requests.Session()
    latencies = []
    for _ in range(300):
        started = time.perf_counter()
        assert session.get(base + "/health/live", timeout=10).ok
        latencies.append((time.perf_counter() - started) * 1000)
    accepted = [0] * 8
    stop = time.monotonic() + seconds

    def post(i: int) -> None:
        s = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < stop:
            resp = s.post(base + "/api/v1/jobs", headers=headers, timeout=30,
                          json={"type": "demo.sleep", "payload": {"seconds": 0}})
            accepted[i] += resp.status_code == 202

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"health_p50_ms": round(statistics.median(latencies), 2),
            "health_p99_ms": round(_pct(latencies, 0.99), 2),
            "post_jobs_per_s": round(sum(accepted) / seconds, 1)}


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--busy", type=int, default=5_000)
    parser.add_argument("--room", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = cli.parse(parser)

    from bench.stack import bench_user, hub_stack, start_api

    with hub_stack() as stack:
        stack["config"]["REALTIME_MAX_SOCKETS_PER_USER"] = args.sockets
        api, base = start_api(stack)
        realtime = api.realtime
        port = int(api.realtime_url.rsplit(":", 1)[1])
        app = stack["app"]
        room_token, room_tenant = bench_user(app)
        crowd_token, _ = bench_user(app)
        api_token, _ = bench_user(app)
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        client = ctx.Process(target=client_main, daemon=True, args=(
            child, f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"))
        client.start()
        figures: dict[str, Any] = {"sockets": args.sockets, "busy": args.busy, "room": args.room}
        try:
            print("API with no socket open ...", flush=True)
            figures["api_idle"] = api_under(base, api_token, args.seconds)
            rss_before = rss_mb(realtime.pid)
            meter = CpuMeter(realtime=trees(lambda: [realtime.pid]))
            meter.start()
            parent.send(("open", "room", room_token, args.room))
            opened = parent.recv()
            parent.send(("open", "crowd", crowd_token, args.busy - args.room))
            crowd = parent.recv()
            figures["open_busy"] = {"room": opened, "crowd": crowd}
            print(f"{args.busy} sockets open: {opened} {crowd}; API beside them ...", flush=True)
            figures["api_busy"] = api_under(base, api_token, args.seconds)
            idle, busy = figures["api_idle"], figures["api_busy"]
            figures["post_jobs_rate_ratio"] = round(busy["post_jobs_per_s"]
                                                    / max(idle["post_jobs_per_s"], 0.1), 3)

            parent.send(("open", "crowd", crowd_token, args.sockets - args.busy))
            more = parent.recv()
            figures["open_rest"] = more
            time.sleep(2)
            total = opened["opened"] + crowd["opened"] + more["opened"]
            cpu = meter.per_item(total)
            rss_after = rss_mb(realtime.pid)
            figures.update({
                "sockets_open": total, "rss_before_mb": round(rss_before, 1),
                "rss_after_mb": round(rss_after, 1),
                "kb_per_socket": round((rss_after - rss_before) * 1024 / max(total, 1), 1),
                "realtime_cpu_ms_per_connect": cpu["realtime"],
            })
            print(f"{total} sockets: RSS {rss_before:.0f} → {rss_after:.0f} MB", flush=True)

            from hub.extensions import db
            from hub.jobs.schema import emit_job_update
            from hub.models import Job

            with app.app_context():
                job = Job(tenant_id=room_tenant, type="demo.sleep", queue="default",
                          status="succeeded", payload={"seconds": 0}, progress=100,
                          max_attempts=1)
                db.session.add(job)
                db.session.commit()
                sent = time.time()
                emit_job_update(job)
            time.sleep(3)
            parent.send(("arrivals", "room"))
            delays = [(t - sent) * 1000 for t in parent.recv()]
            within = sum(d <= 1000 for d in delays)
            figures["fanout"] = {
                "received": len(delays), "within_1s_share": round(within / max(args.room, 1), 4),
                "p50_ms": round(_pct(delays, 0.5), 1) if delays else None,
                "p99_ms": round(_pct(delays, 0.99), 1) if delays else None,
                "max_ms": round(max(delays), 1) if delays else None}

            # A logout ends the login's socket: how long until the client sees it closed.
            import requests

            revoke_token, _ = bench_user(app)
            parent.send(("open", "revoke", revoke_token, 1))
            parent.recv()
            started = time.time()
            resp = requests.post(base + "/api/v1/auth/logout", timeout=10,
                                 headers={"Authorization": f"Bearer {revoke_token}"})
            assert resp.status_code == 200, resp.text
            time.sleep(2)
            parent.send(("arrivals", "closed:revoke"))
            closes = parent.recv()
            figures["logout_to_socket_closed_ms"] = round((closes[0] - started) * 1000, 1) \
                if closes else None
            print(json.dumps(figures, indent=2), flush=True)
        finally:
            try:
                parent.send(("close",))
                parent.recv()
            except (OSError, EOFError):
                pass
            client.join(10)
            api.stop()
    cli.write_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.exit(main())
