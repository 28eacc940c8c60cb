"""Where a browser connects Socket.IO (served by the `realtime` process, not the API)."""
from __future__ import annotations

from urllib.parse import urlsplit

import marshmallow as ma
from flask import current_app, request

from hub.web.envelope import HubBlueprint, NoArgsSchema

blp = HubBlueprint("realtime", __name__, url_prefix="/realtime",
                   description="Where the Socket.IO server is. The events are described in "
                               "docs/API.md (Real-time).")


class RealtimeSchema(ma.Schema):
    url = ma.fields.String(metadata={
        "description": "What to pass to `io(url, {path, auth: {token}})`: an absolute URL, or "
                       "`/` for this API's own origin.",
        "example": "http://127.0.0.1:5001"})
    path = ma.fields.String(metadata={"example": "/socket.io"})
    transports = ma.fields.List(ma.fields.String(), metadata={
        "description": "The Engine.IO transports the server accepts; the default client "
                       "(long-polling, then WebSocket) needs no option.",
        "example": ["websocket", "polling"]})
    auth_timeout_seconds = ma.fields.Float(metadata={
        "description": "A connection that has not authenticated by then is closed."})


def realtime_url() -> str:
    """REALTIME_URL, or this request's scheme and host name on REALTIME_PORT."""
    configured = current_app.config["REALTIME_URL"]
    if configured:
        return configured
    host = urlsplit(f"//{request.host}").hostname or "127.0.0.1"
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"{request.scheme}://{host}:{current_app.config['REALTIME_PORT']}"


@blp.route("", methods=["GET"])
@blp.arguments(NoArgsSchema, location="query")
@blp.response(200, RealtimeSchema)
def where(_args):
    """Where to connect Socket.IO. No authentication: the connection itself sends the token."""
    cfg = current_app.config
    return {"url": realtime_url(), "path": cfg["REALTIME_PATH"],
            "transports": [t.strip() for t in cfg["SOCKETIO_TRANSPORTS"].split(",") if t.strip()],
            "auth_timeout_seconds": cfg["REALTIME_AUTH_TIMEOUT"]}
