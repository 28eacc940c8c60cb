"""An OTLP/HTTP trace collector on loopback for tests: hub processes export to it with the
standard OTEL_EXPORTER_OTLP_ENDPOINT, and it keeps every span as a plain dict."""
from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Collector:
    """Receives OTLP/HTTP trace exports and keeps every span as a plain dict."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector._add(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _add(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), None)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attrs = {a.key: (a.value.string_value or a.value.int_value or a.value.bool_value)
                             for a in span.attributes}
                    with self._lock:
                        self.spans.append({"service": service, "name": span.name, "kind": span.kind,
                                           "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                                           "parent_id": span.parent_span_id.hex(), "attributes": attrs})

    def trace_of(self, **attributes: str) -> str | None:
        with self._lock:
            for span in self.spans:
                if all(span["attributes"].get(k) == v for k, v in attributes.items()):
                    return span["trace_id"]
        return None

    def in_trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
