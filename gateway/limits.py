"""Stated limits on a request, each answered with an OperationOutcome, never a crash.

- A body larger than `Settings.max_body_bytes` (SAMENZORG_MAX_BODY_BYTES) is
  413 before it is read; batch/transaction Bundles and `$import-network`
  (POSTs that carry many resources) have `max_bundle_bytes` instead. Bodies
  sent chunked, without a Content-Length, are held to the same limit.
- JSON nested deeper than MAX_JSON_DEPTH is 400: no real resource comes
  near it, and deeper input would exhaust the validator's recursion.
- A request line longer than MAX_REQUEST_LINE is 414, header fields larger
  than MAX_HEADER_FIELD_BYTES or more than MAX_HEADER_FIELDS are 431; the
  server (gateway/server.py) enforces these while it reads the request.
"""
from __future__ import annotations

import io

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from .config import Settings
from .errors import BadRequest, Issue

MAX_JSON_DEPTH = 64  # nested objects and arrays, the outermost counting as 1
MAX_REQUEST_LINE = 8190  # bytes: method, URL and HTTP version (gunicorn's own ceiling)
MAX_HEADER_FIELD_BYTES = 16 * 1024  # bytes per header field, name and value
MAX_HEADER_FIELDS = 100

_BULK_PATHS = ("/fhir", "/fhir/$import-network")


def check_depth(value: object, what: str = "The JSON body") -> object:
    """`value` itself when it nests at most MAX_JSON_DEPTH levels, else 400. Level by level, not recursive."""
    level, depth = [value], 0
    while level := [node for node in level if isinstance(node, (dict, list))]:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise too_deep(what)
        level = [child for node in level for child in (node.values() if isinstance(node, dict) else node)]
    return value


def too_deep(what: str = "The JSON body") -> BadRequest:
    diagnostics = f"{what} is nested more than {MAX_JSON_DEPTH} levels deep; this server takes at most {MAX_JSON_DEPTH}."
    return BadRequest(diagnostics, issues=[Issue("error", "too-long", diagnostics)])


def install(app: Flask, settings: Settings) -> None:
    """Hold every request's body to its limit (set per request, so bundles may be larger)."""

    @app.before_request
    def limit_body():
        environ = request.environ
        if not environ.get("CONTENT_LENGTH") and "HTTP_TRANSFER_ENCODING" not in environ:
            return  # HTTP/1.1 sends a body only with one of these: nothing to hold (most reads)
        bulk = request.method == "POST" and request.path.rstrip("/") in _BULK_PATHS
        limit, name = ((settings.max_bundle_bytes, "SAMENZORG_MAX_BUNDLE_BYTES") if bulk
                       else (settings.max_body_bytes, "SAMENZORG_MAX_BODY_BYTES"))
        request.max_content_length = limit
        size = request.content_length
        if size is None and request.headers.get("Transfer-Encoding"):
            size = _read_chunked(request.environ, limit)
        if size is not None and size > limit:
            raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes, "
                                        f"this server's limit here ({name}).")


def _read_chunked(environ: dict, limit: int) -> int:
    """Read a body sent without Content-Length, at most one byte past `limit`, and hand it on as if
    it had one. Returns its size (limit + 1 meaning "more than the limit")."""
    stream, body = environ["wsgi.input"], bytearray()
    try:
        while len(body) <= limit and (chunk := stream.read(limit + 1 - len(body))):
            body += chunk
    except Exception as exc:  # the server's chunk parser refuses what the client sent (any kind)
        raise BadRequest(f"The chunked request body is malformed: {type(exc).__name__}.") from None
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(bytes(body)), str(len(body))
    return len(body)
