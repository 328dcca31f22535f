"""CORS for browser-based family portals: only for the origins SAMENZORG_CORS_ORIGINS names.

Bearer tokens travel in the Authorization header (never cookies), so
credentials mode is not enabled.
"""
from __future__ import annotations

from flask import Flask, Response, request

ALLOW_HEADERS = "Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Match, If-None-Exist, " \
                "If-Modified-Since, X-Request-ID"
EXPOSE_HEADERS = "Location, ETag, Last-Modified, Content-Location, X-Request-ID, WWW-Authenticate"
ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def origins(setting: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in (setting or "").split(",") if o.strip())


def install(app: Flask, allowed: frozenset[str]) -> None:
    if not allowed:
        return

    def allowed_origin() -> str | None:
        origin = request.headers.get("Origin")
        if origin and ("*" in allowed or origin in allowed):
            return "*" if "*" in allowed else origin
        return None

    @app.before_request
    def preflight():
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            resp = Response(status=204)
            if allowed_origin():
                resp.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
                resp.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
                resp.headers["Access-Control-Max-Age"] = "600"
            return resp
        return None

    @app.after_request
    def headers(resp: Response):
        origin = allowed_origin()
        if origin:
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            if origin != "*":
                resp.headers.add("Vary", "Origin")
        return resp
