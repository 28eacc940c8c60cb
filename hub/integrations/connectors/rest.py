"""`rest`: any JSON API that lists items, paged by page number or by a cursor."""
from __future__ import annotations

from typing import Any

from hub.integrations.connectors.base import Connector, ConnectorError, Page, Record

_PATH = {"type": "string", "maxLength": 200,
         "description": "Dotted path into the JSON, e.g. `data.items`; empty for the body itself."}


def dig(value: Any, path: str) -> Any:
    """The value at a dotted path (`a.b.0.c`), or None where the path does not lead."""
    for part in [p for p in path.split(".") if p] if path else []:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


class RestConnector(Connector):
    """Generic REST/JSON: GET a URL, take the items at a path, follow page or cursor pagination."""

    name = "rest"
    title = "REST / JSON API"
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "format": "uri", "maxLength": 2048,
                    "pattern": "^https?://[^/@\\s]+([/?#]\\S*)?$",
                    "description": "The list endpoint (http or https)."},
            "items_path": {**_PATH, "default": "items"},
            "id_field": {**_PATH, "default": "id", "minLength": 1,
                         "description": "Dotted path of each item's unique id."},
            "field_mapping": {"type": "object", "maxProperties": 100,
                              "additionalProperties": {"type": "string", "maxLength": 200},
                              "description": "Keep only these fields: {stored name: dotted path "
                                             "in the item}. Empty keeps the whole item."},
            "pagination": {"type": "string", "enum": ["page", "cursor", "none"], "default": "page"},
            "page_param": {"type": "string", "default": "page", "minLength": 1, "maxLength": 100},
            "first_page": {"type": "integer", "default": 1, "minimum": 0},
            "per_page_param": {"type": "string", "default": "per_page", "maxLength": 100},
            "per_page": {"type": "integer", "default": 100, "minimum": 1, "maximum": 10000},
            "cursor_param": {"type": "string", "default": "cursor", "minLength": 1, "maxLength": 100},
            "next_cursor_path": {**_PATH, "default": "next_cursor",
                                 "description": "Where the response names the next page's cursor."},
            "auth_header": {"type": "string", "default": "Authorization", "maxLength": 100,
                            "pattern": "^[A-Za-z0-9-]+$"},
            "auth_scheme": {"type": "string", "default": "Bearer", "maxLength": 50,
                            "description": "Put before the token, e.g. Bearer; empty for none."},
            "headers": {"type": "object", "maxProperties": 20,
                        "additionalProperties": {"type": "string", "maxLength": 1000},
                        "description": "Extra request headers (not secret: put secrets in "
                                       "credentials)."},
            "params": {"type": "object", "maxProperties": 20,
                       "additionalProperties": {"type": "string", "maxLength": 1000}},
        },
    }
    credentials_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"token": {"type": "string", "minLength": 1, "maxLength": 4096,
                                 "description": "Sent in the auth header."}},
    }

    def _setting(self, key: str) -> Any:
        return self.config.get(key, self.config_schema["properties"][key].get("default"))

    def _headers(self) -> dict[str, str]:
        headers = dict(self.config.get("headers") or {})
        token = self.credentials.get("token")
        if token:
            scheme = self._setting("auth_scheme")
            headers[self._setting("auth_header")] = f"{scheme} {token}" if scheme else token
        return headers

    def fetch(self, cursor: Any) -> Page:
        mode = self._setting("pagination")
        params: dict[str, Any] = dict(self.config.get("params") or {})
        per_page = int(self._setting("per_page"))
        page_number = int((cursor or {}).get("page", self._setting("first_page")))
        if mode == "page":
            params[self._setting("page_param")] = page_number
            if self._setting("per_page_param"):
                params[self._setting("per_page_param")] = per_page
        elif mode == "cursor" and cursor and cursor.get("cursor"):
            params[self._setting("cursor_param")] = cursor["cursor"]
        body = self.http.get_json(self.config["url"], params=params, headers=self._headers())
        items = dig(body, self._setting("items_path"))
        if not isinstance(items, list):
            raise ConnectorError(f"no list at items_path {self._setting('items_path')!r} of the response")
        records = [self._record(item) for item in items]
        if mode == "page":
            done = len(items) < per_page or not items
            return Page(records, None if done else {"page": page_number + 1}, done=done)
        if mode == "cursor":
            following = dig(body, self._setting("next_cursor_path"))
            done = following in (None, "") or not items
            return Page(records, None if done else {"cursor": str(following)}, done=done)
        return Page(records, None, done=True)

    def _record(self, item: Any) -> Record:
        if not isinstance(item, dict):
            raise ConnectorError("an item of the response is not a JSON object")
        external_id = dig(item, self._setting("id_field"))
        if external_id is None or external_id == "":
            raise ConnectorError(f"an item has no id at {self._setting('id_field')!r}")
        mapping = self.config.get("field_mapping") or {}
        data = {target: dig(item, source) for target, source in mapping.items()} if mapping else item
        return Record(str(external_id)[:255], data)
