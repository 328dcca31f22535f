"""Real parts for the end-to-end launch tests: Debian's Chromium driven by Playwright, a served
gateway, and the app's redirect target (a local HTTP server that records the callback URL)."""
from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CHROMIUM = os.environ.get("SAMENZORG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium():
    """A fresh Chromium page. Missing Chromium fails the test (never skips): `.ci/run` and `make test`
    (as root) install Debian's package; Playwright's own browser download is not used."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which("chromium"):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install Debian's package (apt-get install -y chromium), "
                    "as `.ci/run` does, or point SAMENZORG_CHROMIUM at a chromium binary.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context()
            context.set_default_timeout(30_000)
            yield context.new_page()
        finally:
            browser.close()


class Callback:
    """The app's redirect URI: a real HTTP server on a free port that keeps the URLs it was sent to."""

    def __init__(self):
        received = self.received = []
        event = self.arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/callback"):  # not the browser's own /favicon.ico
                    received.append(f"http://127.0.0.1:{self.server.server_port}{self.path}")
                    event.set()
                body = b"<!doctype html><title>app</title><p>back in the app</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, timeout=30.0) -> str:
        if not self.arrived.wait(timeout):
            pytest.fail(f"the browser never reached the app's redirect URI within {timeout} s")
        self.arrived.clear()
        return self.received[-1]
