"""The reference family portal's static files, served under /portal for the two-command set-up.

The portal itself (../portal/) is a client of the public FHIR API and SMART login only; this
blueprint serves its files and the one thing it cannot know on its own, its client id
(`/portal/config.json`, from SAMENZORG_PORTAL_CLIENT_ID). No template, no server-side state.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, send_from_directory

PORTAL_DIR = Path(__file__).resolve().parent.parent / "portal"

# No inline script or style, nothing from another origin: the portal's own files and the FHIR
# API on the same origin. The authorization code arrives in the URL, so no Referer leaves.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml"}

portal = Blueprint("portal", __name__)


def _secure(resp: Response, cache: str) -> Response:
    resp.headers.update(_HEADERS)
    # No build step, so file names carry no content hash: the browser keeps a copy but asks
    # (ETag / If-None-Match, a 304 when unchanged) before using it, so a changed file is seen at once.
    resp.headers["Cache-Control"] = cache
    return resp


@portal.get("/portal")
def portal_root():
    return _secure(redirect("/portal/", code=301), "no-cache")


@portal.get("/portal/")
def index():
    return _file("index.html")


@portal.get("/portal/config.json")
def config():
    settings = current_app.config["SAMENZORG"]
    resp = current_app.response_class(
        current_app.json.dumps({"clientId": settings.portal_client_id, "fhirBase": "/fhir"}),
        mimetype="application/json")
    return _secure(resp, "no-store")


@portal.get("/portal/<path:name>")
def asset(name: str):
    return _file(name)


def _file(name: str) -> Response:
    # send_from_directory refuses paths outside the folder (404) and answers If-None-Match.
    resp = send_from_directory(PORTAL_DIR, name, conditional=True, etag=True, max_age=None)
    suffix = Path(name).suffix
    if suffix in _TYPES:
        resp.headers["Content-Type"] = _TYPES[suffix]
    return _secure(resp, "no-cache")
