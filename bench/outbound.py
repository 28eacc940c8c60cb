"""What the SSRF guard and Standard Webhooks signing cost, against raw urllib3 on loopback.

    .venv/bin/python bench/outbound.py [requests] [--json PATH]

Both sides open a fresh connection per request (a webhook attempt does), to
the same threaded HTTP server on 127.0.0.1, interleaved in rounds so machine
noise hits both. Prints the ratio guarded/raw; the guard adds a resolve, the
address checks and URL parsing per request.
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import urllib3

# `python bench/outbound.py` puts bench/ on sys.path, not the project.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cli  # noqa: E402
from hub.integrations import http as outbound  # noqa: E402
from hub.integrations import standard_webhooks


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def main(n: int) -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://localhost:{server.server_address[1]}/hook"
    body = b'{"type":"job.succeeded","timestamp":"2026-01-01T00:00:00Z","data":{"id":"x"}}'
    secret = standard_webhooks.generate_secret()

    def raw() -> None:
        with urllib3.PoolManager(retries=False) as pool:
            pool.request("POST", url, body=body, headers={"content-type": "application/json"})

    def guarded() -> None:
        headers = standard_webhooks.headers([secret], "msg_bench", int(time.time()), body)
        outbound.request("POST", url, headers=headers, body=body, allow_private=True, timeout=5)

    for fn in (raw, guarded):  # warm up
        fn()
    rounds = {"raw": [], "guarded": []}
    per_round = max(1, n // 10)
    for _ in range(10):
        for name, fn in (("raw", raw), ("guarded", guarded)):
            started = time.perf_counter()
            for _ in range(per_round):
                fn()
            rounds[name].append((time.perf_counter() - started) / per_round * 1000)
    raw_ms, guarded_ms = statistics.median(rounds["raw"]), statistics.median(rounds["guarded"])
    print(f"requests per side: {per_round * 10}")
    print(f"raw urllib3:                {raw_ms:.3f} ms/request (median of 10 rounds)")
    print(f"guarded + signed (outbound): {guarded_ms:.3f} ms/request")
    print(f"ratio guarded/raw:          {guarded_ms / raw_ms:.2f}")
    server.shutdown()
    return {"requests_per_side": per_round * 10, "raw_ms_per_request": round(raw_ms, 3),
            "hub_ms_per_request": round(guarded_ms, 3), "ratio": round(guarded_ms / raw_ms, 3)}


if __name__ == "__main__":
    parser = cli.parser(__doc__)
    parser.add_argument("requests", nargs="?", type=int, default=2000)
    args = cli.parse(parser)
    cli.write_figures(args.json, main(args.requests))
