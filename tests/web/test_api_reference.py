"""docs/API.md, the API reference shipped with the hub, against the OpenAPI document it serves."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "API.md"
# `GET /jobs/{job_id}` in the first cell of a table row; paths outside /api/v1 start with these.
OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`")
OUTSIDE_API_V1 = ("/health/", "/metrics")
# Served but not described in the OpenAPI document: Prometheus text, not the JSON API.
NOT_IN_OPENAPI = {("get", "/metrics")}
METHODS = {"get", "post", "put", "patch", "delete"}


def documented_operations() -> set[tuple[str, str]]:
    """(method, path) of every operation in the reference's tables, as OpenAPI spells them."""
    operations = set()
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for method, path in OPERATION.findall(first_cell):
            full = path if path.startswith(OUTSIDE_API_V1) else "/api/v1" + path
            operations.add((method.lower(), full))
    return operations


def served_operations(client) -> set[tuple[str, str]]:
    spec = client.get("/openapi.json").get_json()
    return {(method, path) for path, item in spec["paths"].items() for method in item if method in METHODS}


def test_every_operation_in_the_reference_is_in_the_openapi_document(client):
    documented = documented_operations()
    assert len(documented) > 50  # the tables were read
    assert documented - served_operations(client) == NOT_IN_OPENAPI


def test_every_operation_the_hub_serves_is_in_the_reference(client):
    assert served_operations(client) - documented_operations() == set()


def test_the_project_points_to_its_own_reference_not_outside_the_repository(client):
    spec = client.get("/openapi.json").get_json()
    assert "docs/API.md" in spec["info"]["description"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/API.md" in readme
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "hub").rglob("*.py")]:
        assert "../shared" not in path.read_text(encoding="utf-8"), path
