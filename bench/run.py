"""`make bench`: run the benchmarks, write bench/results/latest.json and REPORT.md."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

from bench import pipeline
from bench.stack import ROOT, hub_stack

RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "platform": platform.platform()}


def plot(latencies: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(latencies, bins=60, color="#3b6ea5")
    for q, style in ((0.5, "--"), (0.99, ":")):
        value = sorted(latencies)[min(len(latencies) - 1, int(q * len(latencies)))]
        ax.axvline(value, color="black", linestyle=style, label=f"p{int(q * 100)} {value:.1f} ms")
    ax.set_xlabel("submit → job.updated succeeded (ms)")
    ax.set_ylabel("jobs")
    ax.set_title("End-to-end latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(results: dict) -> str:
    a, w, e = results["api_accept"], results["worker_throughput"], results["end_to_end"]
    m = results["machine"]
    return f"""# Benchmark report

Run {results['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}.
Each ratio compares the hub with raw Celery on the same Redis, in the same run.

| benchmark | hub | raw baseline | ratio | target |
|---|---|---|---|---|
| API accept (POST /jobs via gunicorn, {a['clients']} clients) | {a['hub_jobs_per_s']} jobs/s | {a['raw_apply_async_per_s']} apply_async/s | {a['ratio']} | ≥ {a['target_ratio']} |
| Worker throughput (ledger + events, {w['pool']} ×{w['concurrency']}) | {w['hub_jobs_per_s']} jobs/s | {w['raw_tasks_per_s']} tasks/s | {w['ratio']} | ≥ {w['target_ratio']} |

End to end, {e['jobs']} jobs paced at {e['paced_per_s']}/s: p50 {e['p50_ms']} ms, p95 {e['p95_ms']} ms,
p99 {e['p99_ms']} ms, max {e['max_ms']} ms (target p50 ≤ {e['target']['p50_ms']} ms,
p99 ≤ {e['target']['p99_ms']} ms).

![latency](latency.png)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "machine": machine()}
    with hub_stack() as stack:
        print("api_accept ...", flush=True)
        results["api_accept"] = pipeline.api_accept(stack, n=int(2000 * scale))
        print(json.dumps(results["api_accept"]), flush=True)
        print("worker_throughput ...", flush=True)
        results["worker_throughput"] = pipeline.worker_throughput(stack, n=int(1000 * scale))
        print(json.dumps(results["worker_throughput"]), flush=True)
        print("end_to_end ...", flush=True)
        e2e = pipeline.end_to_end(stack, seconds=10 * scale)
        latencies = e2e.pop("latencies_ms")
        results["end_to_end"] = e2e
        print(json.dumps(e2e), flush=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    plot(latencies, RESULTS / "latency.png")
    (RESULTS / "REPORT.md").write_text(report(results))
    print(f"wrote {RESULTS / 'latest.json'} and {RESULTS / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
