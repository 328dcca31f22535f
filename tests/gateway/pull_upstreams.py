"""Upstream record systems for the sync tests: real HTTP servers on free 127.0.0.1 ports.

`FakeEcd` is a small Flask app served by werkzeug in a thread: the network-json list endpoint, csv
exports, and a pass-through proxy to a real FHIR server (a second Samenzorg) — each of which it can
be told to break: answer a status (with Retry-After), hang past the read timeout, send malformed
JSON, or send a `next` link to another host. It records every request it answered.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests
from flask import Flask, Response, request
from werkzeug.serving import make_server


@dataclass
class Fault:
    path: str                 # applies to requests whose path+query contains this
    times: int = 1            # how many requests it breaks
    status: int | None = None
    retry_after: str | None = None
    hang: float = 0.0         # seconds to wait before answering
    body: bytes | None = None  # e.g. malformed JSON, with status 200
    rewrite: tuple[str, str] | None = None  # replace text in the proxied answer


@dataclass
class FakeEcd:
    base: str = ""
    networks: list[dict] = field(default_factory=list)   # items: {"id", "network"} or {"id", "deleted": True}
    csv_files: dict[str, str] = field(default_factory=dict)
    fhir_target: str | None = None                       # proxied under /fhir
    faults: list[Fault] = field(default_factory=list)
    seen: list[tuple[float, str]] = field(default_factory=list)
    tokens_issued: int = 0

    def requests_to(self, part: str) -> list[tuple[float, str]]:
        return [s for s in self.seen if part in s[1]]

    def app(self) -> Flask:
        app = Flask("fake-ecd")

        @app.before_request
        def fault():
            here = request.full_path
            self.seen.append((time.monotonic(), here))
            for f in self.faults:
                if f.times > 0 and f.path in here and f.rewrite is None:
                    f.times -= 1
                    if f.hang:
                        time.sleep(f.hang)
                    if f.status or f.body is not None:
                        headers = {"Retry-After": f.retry_after} if f.retry_after else {}
                        return Response(f.body or b"{}", status=f.status or 200, headers=headers,
                                        content_type="application/json")
            return None

        @app.get("/echo")
        def echo():
            return {"authorization": request.headers.get("Authorization"),
                    "user_agent": request.headers.get("User-Agent")}

        @app.post("/oauth/token")
        def token():
            self.tokens_issued += 1
            auth = request.authorization
            if not auth or (auth.username, auth.password) != ("samenzorg", "s3cret-from-env"):
                return {"error": "invalid_client"}, 401
            if request.form.get("grant_type") != "client_credentials":
                return {"error": "unsupported_grant_type"}, 400
            return {"access_token": f"issued-{self.tokens_issued}", "token_type": "Bearer", "expires_in": 3600}

        @app.get("/networks")
        def networks():
            limit = int(request.args.get("limit", 50))
            start = int(request.args.get("cursor", 0))
            items = self.networks[start:start + limit]
            end = start + len(items)
            return {"items": items, "cursor": str(end), "more": end < len(self.networks)}

        @app.get("/csv/<name>")
        def csv_file(name):
            if name not in self.csv_files:
                return Response("not found", status=404)
            return Response(self.csv_files[name], content_type="text/csv")

        @app.route("/fhir/<path:rest>", methods=["GET"])
        def proxy(rest):
            resp = requests.get(f"{self.fhir_target}/fhir/{rest}", params=list(request.args.items(multi=True)),
                                headers={k: v for k, v in request.headers.items()
                                         if k.lower() in ("authorization", "accept")}, timeout=30)
            body = resp.content.replace(f"{self.fhir_target}/fhir".encode(), f"{self.base}/fhir".encode())
            for f in self.faults:
                if f.times > 0 and f.rewrite and f.path in request.full_path:
                    f.times -= 1
                    body = body.replace(f.rewrite[0].encode(), f.rewrite[1].encode())
            headers = {k: v for k, v in resp.headers.items() if k.lower() in ("date", "etag", "last-modified")}
            return Response(body, status=resp.status_code, headers=headers,
                            content_type=resp.headers.get("Content-Type"))

        return app


@contextmanager
def fake_ecd(**kwargs):
    ecd = FakeEcd(**kwargs)
    server = make_server("127.0.0.1", 0, ecd.app(), threaded=True)
    ecd.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ecd
    finally:
        server.shutdown()
        thread.join(timeout=10)
