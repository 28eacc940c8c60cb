"""Swagger UI's files for `/docs`, served by the hub itself.

The page flask-smorest renders at `/docs` loads Swagger UI's script and
styles from `OPENAPI_SWAGGER_UI_URL`; pointing that at this blueprint means
the docs work without the internet and always show the same, pinned Swagger
UI: the build shipped in the `flask-swagger-ui` package (pyproject.toml),
Swagger UI 5 (it reads OpenAPI 3.1). Only its dist files are used, not that
package's own blueprint.
"""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, send_from_directory

from hub.web.errors import NotFound

SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS_URL = "/docs/swagger-ui/"
# The files Swagger UI's page loads; anything else in the package is not served.
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png", "LICENSE", "VERSION"})

blp = Blueprint("swagger_ui", __name__, url_prefix=ASSETS_URL.rstrip("/"))


@blp.get("/<name>")
def asset(name: str):
    """One of Swagger UI's files; cached a day (the version changes only with the package)."""
    if name not in ASSETS:
        raise NotFound("No such file.")
    mimetype = "text/plain" if name in ("LICENSE", "VERSION") else None
    return send_from_directory(SWAGGER_UI_DIST, name, mimetype=mimetype, max_age=86400)
