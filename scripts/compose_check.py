"""Check docker-compose.yml without Docker: what `make compose-check` can do anywhere.

`docker compose config` is the real validation and runs first where Docker
Compose is installed; this catches, with PyYAML alone, what breaks a stack
silently: a file that does not parse, an image without a pinned version, a
dependency on a service that does not exist or with an unknown condition, a
malformed `${VAR}` reference. Prints each problem; exits 1 if there is any.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+x}, ${NAME+x}
VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+])[^}]*)?\}")


def load(path: Path = ROOT / "docker-compose.yml") -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned to a version, or None."""
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]  # a registry host may carry a port: registry:5000/x
    tag = last.rpartition(":")[2] if ":" in last else ""
    if not tag:
        return f"image {image!r} has no tag: pin a version"
    if tag == "latest" or not re.search(r"\d", tag):
        return f"image {image!r} is not pinned to a version ({tag!r})"
    return None


def problems(compose: dict[str, Any], text: str = "") -> list[str]:
    found: list[str] = []
    services = compose.get("services") or {}
    if not services:
        return ["no services"]
    for name, service in services.items():
        if "image" not in service and "build" not in service:
            found.append(f"{name}: neither image nor build")
        if "image" in service and (problem := image_problem(str(service["image"]))):
            found.append(f"{name}: {problem}")
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = dict.fromkeys(depends, {"condition": "service_started"})
        for other, spec in depends.items():
            if other not in services:
                found.append(f"{name}: depends on {other!r}, which is not a service")
            condition = (spec or {}).get("condition", "service_started")
            if condition not in CONDITIONS:
                found.append(f"{name}: unknown condition {condition!r} for {other!r}")
            if other == name:
                found.append(f"{name}: depends on itself")
    for volume in (v for s in services.values() for v in s.get("volumes") or []):
        source = str(volume).split(":", 1)[0]
        if not source.startswith((".", "/", "~")) and source not in (compose.get("volumes") or {}):
            found.append(f"volume {source!r} is not declared under volumes:")
    for match in re.finditer(r"\$\{[^}]*\}?", text):
        if not VARIABLE.fullmatch(match.group(0)):
            found.append(f"malformed variable reference {match.group(0)!r}")
    return found


def main() -> int:
    path = ROOT / "docker-compose.yml"
    text = path.read_text(encoding="utf-8")
    try:
        compose = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        print(f"docker-compose.yml does not parse: {exc}", file=sys.stderr)
        return 1
    found = problems(compose, text)
    for problem in found:
        print(f"docker-compose.yml: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
