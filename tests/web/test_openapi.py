"""The OpenAPI document: every operation, its schemas, errors and security."""
from __future__ import annotations

from tests.support.helpers import assert_error

METHODS = {"get", "post", "put", "patch", "delete"}


def test_openapi_document_lists_every_operation_with_envelopes(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    paths = spec["paths"]
    for path in ("/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh",
                 "/api/v1/auth/logout", "/api/v1/auth/me", "/api/v1/users",
                 "/api/v1/users/{user_id}", "/api/v1/api-keys", "/api/v1/api-keys/{key_id}",
                 "/api/v1/audit-events", "/health/live", "/health/ready"):
        assert path in paths, path
    error_schema = spec["components"]["schemas"]["ErrorEnvelope"]["properties"]
    assert set(error_schema) >= {"success", "error", "code", "message", "details", "meta"}
    for path, item in paths.items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            responses = op["responses"]
            assert "default" in responses, (path, method)
            ok = [c for c in responses if c.startswith("2")]
            assert ok, (path, method)
            content = responses[ok[0]].get("content")
            if content:  # success bodies are the envelope
                ref = content["application/json"]["schema"]["$ref"]
                name = ref.rsplit("/", 1)[1]
                props = spec["components"]["schemas"][name]["properties"]
                assert {"success", "data", "meta"} <= set(props), (path, method, name)
            if "requestBody" in op:
                assert "422" in responses, (path, method)
            assert op.get("summary"), (path, method)


def test_protected_operations_declare_security_and_401(client):
    spec = client.get("/openapi.json").get_json()
    me = spec["paths"]["/api/v1/auth/me"]["get"]
    assert {"bearerAuth": []} in me["security"]
    assert "401" in me["responses"]
    users = spec["paths"]["/api/v1/users"]["get"]
    assert {"apiKey": []} in users["security"] and "403" in users["responses"]
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in login and "429" in login["responses"]


def test_swagger_ui_is_served_with_its_files_from_the_hub(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # nothing from another site
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f'"/docs/swagger-ui/{name}"' in html
        asset = client.get(f"/docs/swagger-ui/{name}")
        assert asset.status_code == 200 and len(asset.data) > 1000
        assert asset.mimetype in ("text/css", "text/javascript", "application/javascript")
    version = client.get("/docs/swagger-ui/VERSION").get_data(as_text=True)
    assert version.startswith("v5.")  # Swagger UI 5 reads OpenAPI 3.1
    assert "Apache License" in client.get("/docs/swagger-ui/LICENSE").get_data(as_text=True)
    assert_error(client.get("/docs/swagger-ui/index.html"), 404, "NOT_FOUND")


def test_every_reference_in_the_document_resolves(client):
    import json
    import re

    spec = client.get("/openapi.json").get_json()
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(spec))):
        node = spec
        for part in ref.split("/"):
            assert part in node, f"unresolved $ref #/{ref}"
            node = node[part]
