"""Which connectors are installed: every class registered under the entry-point group.

The hub's own connectors are declared in its pyproject.toml like any plugin's,
so there is one way in: a package adds a connector with

    [project.entry-points."hub.connectors"]
    my_source = "my_package.connector:MySourceConnector"

and nothing in the hub changes. A plugin that fails to import or is not a
Connector is logged and left out; it never stops the hub.
"""
from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points

import jsonschema

from hub.integrations.connectors.base import Connector

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hub.connectors"

_lock = threading.Lock()
_loaded: dict[str, type[Connector]] | None = None


def _discover() -> dict[str, type[Connector]]:
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the hub down
            log.error("connector plugin %s (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            log.error("connector plugin %s (%s) is not a Connector subclass", ep.name, ep.value)
            continue
        name = cls.name or ep.name
        try:
            jsonschema.Draft202012Validator.check_schema(cls.config_schema)
            jsonschema.Draft202012Validator.check_schema(cls.credentials_schema)
        except jsonschema.SchemaError as exc:
            log.error("connector plugin %s has an invalid schema: %s", name, exc.message)
            continue
        if name in found and found[name] is not cls:
            log.error("two connector plugins are named %r; keeping %s", name, found[name].__module__)
            continue
        if not cls.name:
            cls.name = name
        found[name] = cls
    return found


def connectors() -> dict[str, type[Connector]]:
    """Installed connectors by name (discovered once per process)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _discover()
        return _loaded


def get_connector(name: str) -> type[Connector] | None:
    return connectors().get(name)


def reload_connectors() -> dict[str, type[Connector]]:
    """Discover again (after installing a plugin into a running process, and in tests)."""
    global _loaded
    with _lock:
        _loaded = None
    return connectors()
