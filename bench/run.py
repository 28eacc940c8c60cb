"""`make bench`: run every benchmark, write bench/results/latest.json and REPORT.md.

The pipeline benchmarks (bench/pipeline.py) run here against one stack; the
integration benchmarks (upload memory, reconciliation, sync upsert, outbound
HTTP, email) run as their own scripts, each in a fresh process, and hand their
figures back as JSON. Every figure stands next to the raw baseline it was
measured against in the same run, and its target. latest.json has the same keys
every run: a benchmark that failed keeps its keys with null figures and says why.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import pipeline
from bench.stack import ROOT, hub_stack

RESULTS = ROOT / "bench" / "results"

# name -> (command after `python`, full-size arguments, --quick arguments, figure keys)
INTEGRATIONS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "upload_memory": (["bench/upload_memory.py"], ["--size-mb", "200"], ["--size-mb", "50"],
                      ["size_mb", "limit_growth_mb", "runs"]),
    "reconcile": (["bench/reconcile.py"], ["--rows", "100000"], ["--rows", "20000"],
                  ["rows", "baseline_page_only_s", "end_to_end_s", "ratio_end_to_end",
                   "matching_rows_per_s", "trivial_loop_rows_per_s", "peak_rss_mb",
                   "peak_rss_quarter_mb", "found", "planted_each", "targets"]),
    "sync_upsert": (["-m", "bench.sync_upsert"], ["--records", "50000"], ["--records", "10000"],
                    ["records", "page", "batch", "raw_records_per_s", "hub_new_records_per_s",
                     "hub_unchanged_records_per_s", "ratio_new", "ratio_unchanged",
                     "target_records_per_s"]),
    "outbound": (["bench/outbound.py"], ["2000"], ["500"],
                 ["requests_per_side", "raw_ms_per_request", "hub_ms_per_request", "ratio"]),
    "email": (["bench/bench_email.py"], ["200"], ["50"],
              ["messages_per_side", "raw_ms_per_message", "hub_ms_per_message", "ratio"]),
    "scheduler": (["-m", "bench.scheduler"], [], ["--jobs", "2000", "--probes", "8"],
                  ["relay", "quiet_tenant", "quiet_tenant_shallow"]),
    "realtime": (["bench/realtime.py"], [],
                 ["--sockets", "2000", "--busy", "1000", "--room", "500", "--seconds", "5"],
                 ["sockets", "busy", "room", "sockets_open", "rss_before_mb", "rss_after_mb",
                  "kb_per_socket", "realtime_cpu_ms_per_connect", "api_idle", "api_busy",
                  "post_jobs_rate_ratio", "fanout", "logout_to_socket_closed_ms"]),
}


def machine() -> dict[str, Any]:
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


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed(name: str, fn, *args, **kwargs) -> dict[str, Any]:
    """Run one phase; note the machine's load around it (the machine is shared)."""
    print(f"{name} ...", flush=True)
    load, started = loadavg(), time.monotonic()
    result = fn(*args, **kwargs)
    result["load_before"], result["load_after"] = load, loadavg()
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def integration(name: str, quick: bool) -> dict[str, Any]:
    """Run one integration benchmark script; its figures, or nulls and the error."""
    command, full, small, keys = INTEGRATIONS[name]
    log = RESULTS / f"{name}.log"
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        out = Path(tmp.name)
    figures: dict[str, Any] = dict.fromkeys(keys)
    error = None
    load, started = loadavg(), time.monotonic()
    try:
        with open(log, "wb") as fh:
            proc = subprocess.run([sys.executable, *command, *(small if quick else full),
                                   "--json", str(out)], cwd=ROOT, stdout=fh,
                                  stderr=subprocess.STDOUT, timeout=900)
        if out.stat().st_size:
            figures.update(json.loads(out.read_text()))
        if proc.returncode != 0:
            error = f"exit code {proc.returncode}; see {log.relative_to(ROOT)}"
    except subprocess.TimeoutExpired:
        error = f"timed out after 900 s; see {log.relative_to(ROOT)}"
    finally:
        out.unlink(missing_ok=True)
    return {**figures, "ok": error is None, "error": error, "load_before": load,
            "load_after": loadavg(), "seconds": round(time.monotonic() - started, 1)}


def plot(latencies: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(latencies, bins=60, color="#3b6ea5")
    for q, style in ((0.5, "--"), (0.99, ":")):
        value = pipeline._pct(latencies, q)
        ax.axvline(value, color="black", linestyle=style, label=f"p{int(q * 100)} {value:.1f} ms")
    for target, label in ((15, "target p50 15 ms"), (50, "target p99 50 ms")):
        ax.axvline(target, color="#c0392b", linestyle="-", alpha=0.5, label=label)
    ax.set_xlabel("submit → job.updated succeeded (ms)")
    ax.set_ylabel("jobs")
    ax.set_title("End-to-end latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _div(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 3)


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def _fmt(value: Any, unit: str = "") -> str:
    return "n/a" if value is None else f"{value}{unit}"


def _cpu(groups: dict[str, float] | None) -> str:
    if not groups:
        return "n/a"
    parts = ", ".join(f"{name} {ms}" for name, ms in groups.items() if name != "total")
    return f"{groups['total']} ({parts})"


def report(results: dict) -> str:
    a, b, w = results["api_accept"], results["bulk_accept"], results["worker_throughput"]
    e, t = results["end_to_end"], results["tier_burst"]
    up, rec, sync = results["upload_memory"], results["reconcile"], results["sync_upsert"]
    out, mail = results["outbound"], results["email"]
    rt = results["realtime"]
    rt_idle, rt_busy, fan = rt.get("api_idle") or {}, rt.get("api_busy") or {}, rt.get("fanout") or {}
    sched, quiet = results["scheduler"].get("relay") or {}, results["scheduler"].get("quiet_tenant") or {}
    shallow = results["scheduler"].get("quiet_tenant_shallow") or {}
    m = results["machine"]
    runs = up.get("runs") or {}
    hub_growth = max((r["growth_mb"] for n, r in runs.items() if n.startswith("hub")), default=None)
    growths = ", ".join(f"{n.split('(')[-1].rstrip(')')} {r['growth_mb']} MB" for n, r in runs.items()
                        if n.startswith("hub")) or "n/a"
    naive = (runs.get("read whole body") or {}).get("growth_mb")
    spool = (runs.get("werkzeug form (temp file)") or {}).get("growth_mb")
    rows = [
        (f"Accept: POST /jobs via gunicorn, {a['clients']} clients", f"{a['hub_jobs_per_s']} jobs/s",
         f"{a['raw_apply_async_per_s']} apply_async/s (one process)", f"{a['ratio']} (rate)",
         f"≥ {a['target_ratio']}", _met(a["ratio"] >= a["target_ratio"])),
        (f"Accept, bulk: POST /jobs/batch of {b['jobs_per_request']}, {b['clients']} clients",
         f"{b['hub_jobs_per_s']} jobs/s", f"{b['raw_apply_async_per_s']} apply_async/s (one process)",
         f"{b['ratio']} (rate)", f"≥ {b['target_ratio']}", _met(b["ratio"] >= b["target_ratio"])),
        (f"Drain: no-op jobs through the ledger, one worker {w['pool']} -c {w['concurrency']}",
         f"{w['hub_jobs_per_s']} jobs/s", f"{w['raw_tasks_per_s']} tasks/s (result backend)",
         f"{w['ratio']} (rate)", "≥ 0.5", _met(w["ratio"] >= 0.5)),
        (f"Submit → socket `succeeded` p50, paced {e['paced_per_s']}/s", _fmt(e["p50_ms"], " ms"), "—",
         "—", "≤ 15 ms", _met(e["p50_ms"] is not None and e["p50_ms"] <= 15)),
        (f"Submit → socket `succeeded` p99, paced {e['paced_per_s']}/s", _fmt(e["p99_ms"], " ms"), "—",
         "—", "≤ 50 ms", _met(e["p99_ms"] is not None and e["p99_ms"] <= 50)),
        (f"{t['jobs']} jobs at once, {t['tier']} tier (concurrency {t['tier_concurrency']}): drain",
         _fmt(t["drain_s"], " s"), "—", "—", "≤ 3 s", _met(t["drain_s"] <= 3)),
        ("… another tenant's job meanwhile, submit → succeeded", _fmt(t["other_tenant_latency_s"], " s"),
         "—", "—", "≤ 1 s", _met(t["other_tenant_latency_s"] <= 1)),
        (f"Upload {_fmt(up.get('size_mb'))} MB: API process RSS growth", growths,
         f"read whole body {_fmt(naive, ' MB')}; form temp file {_fmt(spool, ' MB')}",
         f"{_fmt(hub_growth and naive and round(hub_growth / naive, 3))} (memory, worst)", "< 50 MB",
         _met(None if hub_growth is None else hub_growth < 50)),
        (f"Reconcile {_fmt(rec.get('rows'))} balance transactions, end to end",
         _fmt(rec.get("end_to_end_s"), " s"), f"page only {_fmt(rec.get('baseline_page_only_s'), ' s')}",
         f"{_fmt(rec.get('ratio_end_to_end'))} (time)", "≤ 60 s",
         _met(None if rec.get("end_to_end_s") is None else rec["end_to_end_s"] <= 60)),
        ("Reconcile: matching core", _fmt(rec.get("matching_rows_per_s"), " rows/s"),
         f"trivial loop {_fmt(rec.get('trivial_loop_rows_per_s'), ' rows/s')}",
         f"{_fmt(_div(rec.get('matching_rows_per_s'), rec.get('trivial_loop_rows_per_s')))} (rate)",
         "≥ 100,000 rows/s",
         _met(None if rec.get("matching_rows_per_s") is None else rec["matching_rows_per_s"] >= 100_000)),
        ("Reconcile: peak RSS", _fmt(rec.get("peak_rss_mb"), " MB"),
         f"a quarter of the period {_fmt(rec.get('peak_rss_quarter_mb'), ' MB')}", "—", "≤ 300 MB",
         _met(None if rec.get("peak_rss_mb") is None else rec["peak_rss_mb"] <= 300)),
        (f"Sync upsert {_fmt(sync.get('records'))} records, all new",
         _fmt(sync.get("hub_new_records_per_s"), " records/s"),
         f"raw executemany {_fmt(sync.get('raw_records_per_s'), ' records/s')}",
         f"{_fmt(sync.get('ratio_new'))} (rate)",
         "≥ 10,000 records/s", _met(None if sync.get("hub_new_records_per_s") is None
                                    else sync["hub_new_records_per_s"] >= 10_000)),
        ("Sync upsert, all unchanged", _fmt(sync.get("hub_unchanged_records_per_s"), " records/s"),
         f"raw executemany {_fmt(sync.get('raw_records_per_s'), ' records/s')}",
         f"{_fmt(sync.get('ratio_unchanged'))} (rate)", "≥ 10,000 records/s",
         _met(None if sync.get("hub_unchanged_records_per_s") is None
              else sync["hub_unchanged_records_per_s"] >= 10_000)),
        ("Outbound webhook request (SSRF guard + signing)", _fmt(out.get("hub_ms_per_request"), " ms"),
         f"raw urllib3 {_fmt(out.get('raw_ms_per_request'), ' ms')}", f"{_fmt(out.get('ratio'))} (time)",
         "none (cost shown)", "—"),
        ("Email: hub SMTP adapter per message", _fmt(mail.get("hub_ms_per_message"), " ms"),
         f"raw smtplib {_fmt(mail.get('raw_ms_per_message'), ' ms')}", f"{_fmt(mail.get('ratio'))} (time)",
         "none (cost shown)", "—"),
        (f"Realtime: {_fmt(rt.get('sockets_open'))} authenticated sockets, one process, RSS",
         f"{_fmt(rt.get('rss_after_mb'), ' MB')} ({_fmt(rt.get('kb_per_socket'), ' KB')}/socket)",
         f"no socket {_fmt(rt.get('rss_before_mb'), ' MB')}", "—", "≤ 1 GB at 10,000",
         _met(None if rt.get("rss_after_mb") is None
              else rt["rss_after_mb"] <= 1024 and (rt.get("sockets_open") or 0) >= 10_000)),
        (f"Realtime: one job.updated to a room of {_fmt(rt.get('room'))}",
         f"{_fmt(fan.get('within_1s_share'))} within 1 s (p99 {_fmt(fan.get('p99_ms'), ' ms')})",
         "—", "—", "99 % within 1 s",
         _met(None if fan.get("within_1s_share") is None else fan["within_1s_share"] >= 0.99)),
        (f"API /health/live p99 with {_fmt(rt.get('busy'))} sockets open",
         _fmt(rt_busy.get("health_p99_ms"), " ms"), f"no socket {_fmt(rt_idle.get('health_p99_ms'), ' ms')}",
         "—", "≤ 50 ms",
         _met(None if rt_busy.get("health_p99_ms") is None else rt_busy["health_p99_ms"] <= 50)),
        (f"API POST /jobs rate with {_fmt(rt.get('busy'))} sockets open",
         _fmt(rt_busy.get("post_jobs_per_s"), " jobs/s"),
         f"no socket {_fmt(rt_idle.get('post_jobs_per_s'), ' jobs/s')}",
         f"{_fmt(rt.get('post_jobs_rate_ratio'))} (rate)", "≥ 0.9",
         _met(None if rt.get("post_jobs_rate_ratio") is None else rt["post_jobs_rate_ratio"] >= 0.9)),
        (f"Scheduler: relay, {_fmt(sched.get('jobs'))} queued jobs of {_fmt(sched.get('tenants'))} tenants",
         _fmt(sched.get("relay_jobs_per_s"), " jobs/s"),
         f"{_fmt(sched.get('raw_send_task_per_s'))} send_task/s", f"{_fmt(sched.get('ratio'))} (rate)",
         "—", "—"),
        *[(f"Scheduler: a quiet tenant's job while that backlog drains, {what}: created → "
           "dispatched p50 / max", f"{_fmt(q.get('dispatch_p50_ms'), ' ms')} / "
           f"{_fmt(q.get('dispatch_max_ms'), ' ms')}", "—", "—", "—", "—") for what, q in (
               ("broker as deep as the tenants' slots", quiet),
               (f"broker kept to {_fmt(shallow.get('queue_depth'))} (queue:default)", shallow))],
        *[(f"Scheduler: the same, {what}: created → running p50 / max",
           f"{_fmt(q.get('start_p50_ms'), ' ms')} / {_fmt(q.get('start_max_ms'), ' ms')}", "—", "—",
           "≤ 1 s", _met(None if q.get("start_p50_ms") is None else q["start_p50_ms"] <= 1000))
          for what, q in (("deep broker", quiet), ("shallow broker", shallow))],
        ("Realtime: logout → the login's socket closed", _fmt(rt.get("logout_to_socket_closed_ms"), " ms"),
         "—", "—", "≤ 2 s", _met(None if rt.get("logout_to_socket_closed_ms") is None
                                  else rt["logout_to_socket_closed_ms"] <= 2000)),
    ]
    table = "\n".join(f"| {' | '.join(str(c) for c in row)} |" for row in rows)
    failures = [f"- API accept: {a['failed']} of {a['requests']} requests not accepted: {a['statuses']}"] \
        if a["failed"] else []
    if b["failed"]:
        failures.append(f"- Bulk accept: {b['failed']} of {b['requests']} requests not accepted: "
                        f"{b['statuses']}")
    for run in (e,):
        if run["failed"] or run["missing_events"]:
            failures.append(f"- End to end at {run['paced_per_s']}/s: {run['failed']} submissions not "
                            f"accepted ({run['statuses']}), {run['missing_events']} accepted jobs "
                            "without a succeeded event in 120 s")
    failures += [f"- {name}: {results[name]['error']}" for name in INTEGRATIONS
                 if not results[name]["ok"]]
    return f"""# Benchmark report

Run {results['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}{' (--quick)' if results['quick'] else ''}.
Load average at the start {results['load_start']}, at the end {results['load_end']} (the machine is shared).
Each hub figure stands next to its raw baseline, measured side by side in the same run.
Ratios are hub ÷ baseline: of rates (higher is better), of times or of memory (lower is better).

| benchmark | hub | raw baseline | ratio | target | met |
|---|---|---|---|---|---|
{table}

{"Failures:" if failures else "No request failed and no event was missing."}
{chr(10).join(failures)}

Where the CPU goes, milliseconds per job (all processes of each side, from /proc):

| path | hub | raw baseline | ratio CPU allows |
|---|---|---|---|
| Accept, POST /jobs | {_cpu(a['hub_cpu_ms_per_job'])} | {_cpu(a['raw_cpu_ms_per_task'])} | {_fmt(a['cpu_bound_ratio'])} |
| Accept, bulk | {_cpu(b['hub_cpu_ms_per_job'])} | {_cpu(b['raw_cpu_ms_per_task'])} | {_fmt(b['cpu_bound_ratio'])} |
| Worker | {_cpu(w['hub_cpu_ms_per_job'])} | {_cpu(w['raw_cpu_ms_per_task'])} | {_fmt(w['cpu_bound_ratio'])} |

"Ratio CPU allows" is baseline CPU ÷ hub CPU per job: the rate ratio the hub
would reach if CPU were all that limited it.

End to end: {e['jobs']} jobs paced at {e['paced_per_s']}/s: p50 {e['p50_ms']} ms, p95 {e['p95_ms']} ms,
p99 {e['p99_ms']} ms, max {e['max_ms']} ms.

![latency](latency.png)

The benchmark's PostgreSQL is a throw-away cluster started with fsync=off and
synchronous_commit=off (scripts/localservices.py, shared with the test suite);
the raw Celery baselines do not touch PostgreSQL.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke check")
    parser.add_argument("--only", help="comma-separated: pipeline and/or integration names")
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    only = set(args.only.split(",")) if args.only else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                     "machine": machine(), "quick": args.quick, "load_start": loadavg()}
    latencies: list[float] = []
    if only is None or "pipeline" in only:
        with hub_stack() as stack:
            results["api_accept"] = timed("api_accept", pipeline.api_accept, stack, n=int(2000 * scale))
            print(json.dumps(results["api_accept"]), flush=True)
            results["bulk_accept"] = timed("bulk_accept", pipeline.bulk_accept, stack,
                                           n=int(20000 * scale))
            print(json.dumps(results["bulk_accept"]), flush=True)
            results["worker_throughput"] = timed("worker_throughput", pipeline.worker_throughput,
                                                 stack, n=int(1000 * scale))
            print(json.dumps(results["worker_throughput"]), flush=True)
            e2e = timed("end_to_end", pipeline.end_to_end, stack, seconds=20 * scale)
            latencies = e2e.pop("latencies_ms")
            results["end_to_end"] = e2e
            print(json.dumps(e2e), flush=True)
            results["tier_burst"] = timed("tier_burst", pipeline.tier_burst, stack)
            print(json.dumps(results["tier_burst"]), flush=True)
    for name in INTEGRATIONS:
        if only is None or name in only:
            print(f"{name} ...", flush=True)
            results[name] = integration(name, args.quick)
            print(json.dumps(results[name]), flush=True)
    results["load_end"] = loadavg()
    if only is not None:
        partial = RESULTS / "partial.json"
        partial.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {partial} (--only: latest.json and REPORT.md need a full run)")
        return 0
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    plot(latencies or [0.0], RESULTS / "latency.png")
    (RESULTS / "REPORT.md").write_text(report(results))
    print(f"wrote {RESULTS / 'latest.json'} and {RESULTS / 'REPORT.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
