"""A tiny sample source the hub serves itself, so `make run` shows a sync end to end.

`GET /demo-source/items?page=N&per_page=M` pages through 42 static products in
the shape the `rest` connector reads by default (`{"items": [...], "page": N}`).
One product's stock follows the clock, so later syncs find an update too.
Off in production unless SYNC_DEMO_SOURCE_ENABLED says otherwise.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, jsonify, request

bp = Blueprint("demo_source", __name__, url_prefix="/demo-source")

COLOURS = ("red", "green", "blue", "black", "white", "yellow")
ITEMS = [{"id": n, "sku": f"SKU-{n:04d}", "name": f"Sample product {n}",
          "colour": COLOURS[n % len(COLOURS)], "price_cents": 500 + 125 * n, "stock": (n * 7) % 50}
         for n in range(1, 43)]


def enabled(config: dict[str, Any]) -> bool:
    value = config.get("SYNC_DEMO_SOURCE_ENABLED")
    return config["HUB_ENV"] != "production" if value is None else bool(value)


@bp.get("/items")
def items():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    per_page = min(100, max(1, request.args.get("per_page", 10, type=int) or 10))
    chunk = [dict(item) for item in ITEMS[(page - 1) * per_page: page * per_page]]
    for item in chunk:
        if item["id"] == 1:
            item["stock"] = int(time.time() // 600) % 50  # changes every ten minutes
    return jsonify({"items": chunk, "page": page, "per_page": per_page, "total": len(ITEMS)})


def register(app: Flask) -> None:
    if enabled(app.config):
        app.register_blueprint(bp)
