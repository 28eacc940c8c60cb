"""Sync upsert throughput into PostgreSQL, against a raw `executemany` INSERT of the same rows.

    .venv/bin/python -m bench.sync_upsert [--records 50000] [--page 1000] [--batch 500] [--json PATH]

Three runs on the same fresh PostgreSQL (bench/stack.py):
- raw:         psycopg `executemany` of plain INSERTs (no hashing, no conflict handling);
- hub, new:    `hub.services.sync.store.upsert_records` + commit per page, all rows new;
- hub, again:  the same records once more (all unchanged: the steady state of a sync).
Prints records/s and the hub's ratio to the raw baseline. Target: >= 10,000 records/s.
"""
from __future__ import annotations

import json
import time
import uuid

from bench import cli
from bench.stack import hub_stack


def _records(n: int):
    from hub.integrations.connectors.base import Record

    return [Record(str(i), {"id": i, "name": f"customer {i}", "email": f"c{i}@example.com",
                            "balance": i % 977, "tags": ["a", "b"], "address": {"city": "Oslo"}})
            for i in range(n)]


def _connection(app, tenant_id: uuid.UUID) -> uuid.UUID:
    from hub.extensions import db
    from hub.models import Connection

    with app.app_context():
        conn = Connection(tenant_id=tenant_id, connector="rest", name=f"bench {uuid.uuid4().hex[:6]}",
                          config={"url": "http://127.0.0.1/"}, status="ok", run_number=1,
                          run_active=True)
        db.session.add(conn)
        db.session.commit()
        return conn.id


def run_hub(app, tenant_id, connection_id, records, page: int, batch: int) -> float:
    from hub.extensions import db
    from hub.services.sync.store import upsert_records

    with app.app_context():
        started = time.perf_counter()
        for start in range(0, len(records), page):
            upsert_records(tenant_id, connection_id, 1, records[start:start + page], batch_size=batch)
            db.session.commit()
        return time.perf_counter() - started


def run_raw(url: str, tenant_id, connection_id, records, page: int) -> float:
    import psycopg

    from hub.models import utcnow

    sql = ("INSERT INTO sync_records (tenant_id, connection_id, external_id, data, content_hash, "
           "seen_run, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, 1, %s, %s)")
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        started = time.perf_counter()
        for start in range(0, len(records), page):
            now = utcnow()
            rows = [(tenant_id, connection_id, r.external_id, json.dumps(r.data), "0" * 64, now, now)
                    for r in records[start:start + page]]
            with conn.cursor() as cur:
                cur.executemany(sql, rows)
            conn.commit()
        return time.perf_counter() - started


def main() -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500, help="SYNC_BATCH_SIZE")
    args = cli.parse(parser)
    records = _records(args.records)
    with hub_stack() as stack:
        from bench.stack import bench_user

        app = stack["app"]
        _, tenant_id = bench_user(app)
        raw = run_raw(stack["config"]["DATABASE_URL"], tenant_id, _connection(app, tenant_id),
                      records, args.page)
        target = _connection(app, tenant_id)
        new = run_hub(app, tenant_id, target, records, args.page, args.batch)
        again = run_hub(app, tenant_id, target, records, args.page, args.batch)
    n = len(records)
    print(f"{n} records, pages of {args.page}, upsert batches of {args.batch}, PostgreSQL")
    print(f"{'run':<32}{'records/s':>12}{'vs raw':>10}")
    for name, seconds in (("raw executemany INSERT", raw), ("hub upsert, all new", new),
                          ("hub upsert, all unchanged", again)):
        print(f"{name:<32}{n / seconds:>12,.0f}{raw / seconds:>10.2f}")
    cli.write_figures(args.json, {
        "records": n, "page": args.page, "batch": args.batch,
        "raw_records_per_s": round(n / raw), "hub_new_records_per_s": round(n / new),
        "hub_unchanged_records_per_s": round(n / again),
        "ratio_new": round(raw / new, 3), "ratio_unchanged": round(raw / again, 3),
        "target_records_per_s": 10_000})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
