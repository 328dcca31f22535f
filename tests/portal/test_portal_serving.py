"""How the gateway serves the portal's files: a strict CSP, caching that revalidates, the client id."""
from __future__ import annotations

import re
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"


def test_the_portal_page_is_served_with_a_strict_content_security_policy(app):
    resp = app.test_client().get("/portal/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert resp.headers["Referrer-Policy"] == "no-referrer"  # the authorization code is in the URL
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-cache" and resp.headers.get("ETag")
    again = app.test_client().get("/portal/", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_no_portal_file_holds_inline_script_or_style_or_event_handlers():
    for path in PORTAL.rglob("*.html"):
        html = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert "<style" not in html and not re.search(r"\son[a-z]+=", html) and "style=" not in html, path


def test_modules_and_styles_carry_their_types(app):
    client = app.test_client()
    assert client.get("/portal/js/app.js").mimetype == "text/javascript"
    assert client.get("/portal/css/portal.css").mimetype == "text/css"
    assert client.get("/portal").status_code == 301


def test_config_names_the_client_id_from_the_settings(settings):
    from gateway import create_app

    app = create_app(settings.with_(portal_client_id="mijn-portaal"))
    resp = app.test_client().get("/portal/config.json")
    assert resp.get_json() == {"clientId": "mijn-portaal", "fhirBase": "/fhir"}
    assert resp.headers["Cache-Control"] == "no-store"
    app.extensions["samenzorg.engine"].dispose()


def test_nothing_outside_the_portal_folder_is_served(app):
    client = app.test_client()
    for path in ("/portal/../gateway/app.py", "/portal/..%2Fpyproject.toml", "/portal/%2e%2e/README.md",
                 "/portal/nope.js"):
        assert client.get(path).status_code == 404, path
