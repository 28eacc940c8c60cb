"""`stripe_customers`: a Stripe account's customers, through the `stripe` library.

The library speaks to Stripe; its HTTP goes through the hub's guarded client
(`HubStripeHttp`), so retries, Retry-After and the SSRF guard are the same as
for every connector. `api_base` points it at another server (tests, stripe-mock).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from hub.integrations.connectors.base import AuthFailed, Connector, ConnectorError, HttpClient, Page, Record

DEFAULT_API_BASE = "https://api.stripe.com"
FIELDS = ("id", "email", "name", "phone", "description", "currency", "balance", "delinquent",
          "created", "metadata", "livemode")


class HubStripeHttp(stripe.HTTPClient):
    """stripe's HTTP client interface on top of the connector's HttpClient."""

    name = "hub-outbound"

    def __init__(self, http: HttpClient) -> None:
        super().__init__()
        self._http = http

    def request(self, method: str, url: str, headers: Mapping[str, str] | None,
                post_data: Any = None, *, _usage=None) -> tuple[str, int, Mapping[str, str]]:
        body = post_data.encode("utf-8") if isinstance(post_data, str) else post_data
        # 4xx other than auth come back to stripe, which raises its typed error.
        response = self._http.request(method.upper(), url, headers=dict(headers or {}), body=body,
                                      accept_statuses=lambda status: 400 <= status < 500)
        return response.body.decode("utf-8", errors="replace"), response.status, response.headers

    def close(self) -> None:
        pass


class StripeCustomersConnector(Connector):
    """Stripe customers, newest first, 100 a page (`starting_after` pagination)."""

    name = "stripe_customers"
    title = "Stripe customers"
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "api_base": {"type": "string", "format": "uri", "maxLength": 2048,
                    "pattern": "^https?://[^/@\\s]+([/?#]\\S*)?$",
                         "default": DEFAULT_API_BASE,
                         "description": "Stripe's API base URL; another for a test server."},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
        },
    }
    credentials_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["api_key"],
        "properties": {"api_key": {"type": "string", "minLength": 1, "maxLength": 500,
                                   "description": "A secret or restricted key (rk_...) that can "
                                                  "read customers."}},
    }

    def _client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            self.credentials["api_key"],
            base_addresses={"api": self.config.get("api_base") or DEFAULT_API_BASE},
            http_client=HubStripeHttp(self.http), max_network_retries=0)

    def fetch(self, cursor: Any) -> Page:
        params: dict[str, Any] = {"limit": int(self.config.get("page_size") or 100)}
        if cursor and cursor.get("starting_after"):
            params["starting_after"] = cursor["starting_after"]
        try:
            listing = self._client().v1.customers.list(params=params)
        except stripe.AuthenticationError:
            raise AuthFailed("Stripe refused the API key") from None
        except stripe.StripeError as exc:
            raise ConnectorError(f"Stripe: {exc.user_message or type(exc).__name__}") from None
        customers = list(listing.data)
        records = []
        for customer in customers:
            plain = customer.to_dict()  # StripeObjects are not dicts in stripe 16; store plain JSON
            records.append(Record(customer.id, {f: plain.get(f) for f in FIELDS}))
        if listing.has_more and customers:
            return Page(records, {"starting_after": customers[-1].id})
        return Page(records, None, done=True)

