"""HTTP resources: one folder per resource with routes.py and schemas.py."""
from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from hub.web.envelope import HubBlueprint
from hub.web.errors import HubApi

API_PREFIX = "/api/v1"

api = HubApi(spec_kwargs={
    "info": {"description": "Integration hub: accounts, jobs and integrations. "
                            "Every response is the JSON envelope described in docs/API.md, "
                            "the hub's API reference in its repository, which also covers "
                            "the real-time (Socket.IO) events. "
                            "Text fields may not contain NUL (U+0000); unknown fields and "
                            "query parameters are rejected with 422."},
})


def resource_blueprints() -> list[HubBlueprint]:
    """Every `HubBlueprint` defined in a module under `hub/api`, in path order.

    Found, not listed: a new resource folder is served without editing this
    package. Modules that only add routes to another module's blueprint (like
    `accounts/auth/lifecycle.py`) are imported too, before anything registers.
    """
    found: list[HubBlueprint] = []
    for info in sorted(pkgutil.walk_packages(__path__, __name__ + "."), key=lambda m: m.name):
        module = importlib.import_module(info.name)
        found += [value for value in vars(module).values()
                  if isinstance(value, HubBlueprint) and value.import_name == info.name]
    return found


def register_blueprints(app: Flask) -> None:
    """Bind the smorest Api and register every resource."""
    from hub.api.access import SECURITY_SCHEMES
    from hub.api.docs import blp as swagger_ui_blp
    from hub.api.jobs.routes import document_job_types
    from hub.api.sync.demo_source import routes as demo_source
    from hub.api.sync.routes import document_connectors

    api.init_app(app)
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    for blp in resource_blueprints():
        api.register_blueprint(blp, url_prefix=(API_PREFIX if blp.versioned else "") + blp.url_prefix)
    demo_source.register(app)
    app.register_blueprint(swagger_ui_blp)
    document_job_types(api.spec)
    document_connectors(api.spec)
