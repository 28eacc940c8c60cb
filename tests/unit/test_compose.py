"""docker-compose.yml, read as Docker Compose would (PyYAML, merge keys resolved): it runs uploads."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import compose_check  # noqa: E402

COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def test_compose_file_passes_the_checks_make_compose_check_runs():
    assert compose_check.problems(compose_check.load(), COMPOSE_TEXT) == []


def test_the_checks_catch_unpinned_images_and_missing_services():
    broken = {"services": {"db": {"image": "postgres"}, "cache": {"image": "redis:latest"},
                           "app": {"build": ".", "depends_on": {"queue": {"condition": "service_healthy"}}},
                           "ok": {"image": "registry.example:5000/team/app:1.2.3"}}}
    assert compose_check.problems(broken, "${BROKEN") == [
        "db: image 'postgres' has no tag: pin a version",
        "cache: image 'redis:latest' is not pinned to a version ('latest')",
        "app: depends on 'queue', which is not a service",
        "malformed variable reference '${BROKEN'",
    ]


def test_every_image_is_pinned_and_the_hubs_own_carries_the_project_version():
    services = compose_check.load()["services"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert services["api"]["image"] == f"integration-hub:{version}"
    assert all(compose_check.image_problem(s["image"]) is None for s in services.values())


def test_a_one_shot_service_makes_the_bucket_and_its_cors_rule_before_the_hub_stores_files():
    services = compose_check.load()["services"]
    init = services["storage-init"]
    assert init["restart"] == "no"
    assert init["command"][:5] == ["flask", "--app", "wsgi", "hub", "init-storage"]
    assert init["environment"]["S3_BUCKET"] == "hub"
    assert init["depends_on"] == {"minio": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["storage-init"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"]["CORS_ORIGINS"] == "${CORS_ORIGINS:-}"
    # CORS_ORIGINS is explained where it is set.
    header = COMPOSE_TEXT.split("x-hub-env", 1)[0]
    assert "CORS_ORIGINS" in header and "http://localhost:3000" in header
