"""The hub's version as installed: pyproject.toml's `[project] version`."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _installed_version() -> str:
    try:
        return version("integration-hub")
    except PackageNotFoundError:  # run from a bare checkout, not installed
        return "0+unknown"


VERSION = _installed_version()
