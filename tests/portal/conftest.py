"""The family portal in a real Chromium (Debian's package, driven by Playwright) against a live
gateway on a free 127.0.0.1 port, over the demo networks.

Until the SMART login lands on main, a test signs a person in the way a test may: it mints a
token with the test's own settings and puts it into the page's sessionStorage in exactly the
shape the portal's login code stores after the token exchange (session.js). This is test
set-up only: the server accepts nothing new, the token is an ordinary bearer token.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import jwt
import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from gateway import create_app
from gateway.auth import mint as mint_token
from gateway.loading import import_network_files

# --import-mode=importlib puts no test folder on sys.path; the tests import axe.py from here.
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "networks"
NETWORKS = ["a-dementie-dochter-en-buurman.json", "b-mentor-beheert-toestemming.json"]
SCOPES = "openid fhirUser launch/patient offline_access patient/*.rs patient/Communication.c patient/Consent.cru"
SHOTS = Path(os.environ.get("SAMENZORG_PORTAL_SCREENSHOTS", "var/portal-screenshots"))


@pytest.fixture(scope="session")
def browser():
    if not (shutil.which("chromium") or os.path.exists(CHROMIUM)):
        pytest.fail("Debian's chromium is missing (/usr/bin/chromium): `apt-get install -y chromium` "
                    "(.ci/run installs it); the portal's browser tests need it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class _OneRequestPerConnection(WSGIRequestHandler):
    # No keep-alive: once the server stops, the browser has no open connection left that could
    # still be answered, so "server down" is really down. And no line per request on stderr.
    protocol_version = "HTTP/1.0"

    def log_request(self, *args, **kwargs):
        pass


class LiveServer:
    """The gateway app served by werkzeug in a thread; `stop()` makes it unreachable (server down)."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_OneRequestPerConnection)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError("the live server did not answer /healthz")

    def stop(self):
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)


@pytest.fixture
def live(settings):
    for _ in import_network_files(settings, [DEMO / n for n in NETWORKS]):
        pass
    app = create_app(settings)
    server = LiveServer(app)
    yield server
    server.stop()
    app.extensions["samenzorg.engine"].dispose()


class Demo:
    """The demo people by name, and a system client's view of the API (as an ECD would have it)."""

    def __init__(self, base, settings):
        self.base = base
        self.settings = settings
        self.system = {"Authorization": f"Bearer {mint_token(settings, scope='system/*.cruds')}",
                       "Accept": "application/fhir+json"}

    def get(self, path, headers=None):
        resp = requests.get(f"{self.base}/fhir/{path}", headers=headers or self.system, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def one(self, path):
        entries = self.get(path).get("entry", [])
        assert len(entries) == 1, path
        return entries[0]["resource"]["id"]

    def patient(self, family):
        return self.one(f"Patient?name={family}")

    def person(self, patient_id, given):
        return self.one(f"RelatedPerson?patient={patient_id}&name={given}")

    def token(self, fhir_user, patient_id, ttl=3600, scope=SCOPES):
        return mint_token(self.settings, scope=scope, fhir_user=fhir_user, patient=patient_id, ttl=ttl,
                          client_id="familieportaal")


@pytest.fixture
def demo(live, settings):
    return Demo(live.base, settings)


class Portal:
    """One person's browser tab on the portal, with every FHIR response it received recorded."""

    def __init__(self, page, base):
        self.page = page
        self.base = base
        self.responses: list[tuple[str, str]] = []
        self.requests: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("response", self._record)
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)

    def _record(self, resp):
        if "/fhir/" in resp.url:
            try:
                self.responses.append((resp.url, resp.text()))
            except Exception:  # a response without a body (a redirect, an aborted request)
                self.responses.append((resp.url, ""))

    def sign_in_as(self, token, patient_id, expires_in=3600, hash_="#/netwerk"):
        """Test set-up: the session the login code stores after a token exchange (see module doc)."""
        self.page.goto(f"{self.base}/portal/")
        granted = jwt.decode(token, options={"verify_signature": False})["scope"]  # as a token response says it
        session = {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": granted,
                   "patient": patient_id, "received_at": int(time.time())}
        self.page.evaluate("s => sessionStorage.setItem('samenzorg.session', s)", json.dumps(session))
        self.open(hash_)

    def open(self, hash_):
        """A fresh page load (as a person reopening the portal), waited on until it has rendered."""
        self.page.goto(f"{self.base}/portal/{hash_}")
        self.page.reload()
        self.settled()

    def settled(self, page=None):
        self.page.wait_for_selector(f"main[data-page='{page}']" if page else "main[data-page]")

    def received(self, text: str) -> bool:
        return any(text in body for _, body in self.responses)

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_portal(browser, live):
    contexts = []

    def _open(width=1280, height=900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="nl-NL")
        context.set_default_timeout(60_000)  # a loaded CI machine is slow; a wait is never an assertion on time
        contexts.append(context)
        return Portal(context.new_page(), live.base)

    yield _open
    for c in contexts:
        c.close()
