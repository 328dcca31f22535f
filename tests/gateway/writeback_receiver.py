"""A record system's write-back endpoint as a real local HTTP server, which can be told to misbehave.

It keeps one record per Idempotency-Key, as a receiver of Samenzorg's write-back must; it also
counts every request, so a test can tell "delivered once" from "received once".
Behaviours, taken in order from `script` (then `default`): "ok"; "503:<seconds>" (Retry-After);
"500"; "refuse" (422); "slow:<seconds>"; "hang:<seconds>" (stores the item, then answers only after the wait: the
answer is lost when the caller gives up first).
"""
from __future__ import annotations

import threading
from collections import deque

import orjson
from flask import Flask, Response, request
from werkzeug.serving import make_server


class Receiver:
    def __init__(self, default: str = "ok"):
        self.default = default
        self.script: deque[str] = deque()
        self.stored: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # ends every hang (on stop)
        self.arrived = threading.Event()  # set on each request
        self.app = self._app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.thread.join(timeout=10)

    def _app(self) -> Flask:
        app = Flask("writeback-receiver")

        @app.post("/writeback")
        def writeback():
            key = request.headers.get("Idempotency-Key")
            if not key:
                return _json(400, {"error": "Idempotency-Key is required"})
            with self.lock:
                self.requests.append(key)
                step = self.script.popleft() if self.script else self.default
            self.arrived.set()
            name, _, arg = step.partition(":")
            if name == "503":
                return _json(503, {"error": "maintenance"}, {"Retry-After": arg or "1"})
            if name == "500":
                return _json(500, {"error": "internal"})
            if name == "refuse":
                return _json(422, {"error": "unknown client C-17"})
            with self.lock:
                known = key in self.stored
                self.stored.setdefault(key, request.get_data())
            if name in ("hang", "slow"):  # slow: a receiver that takes its time, then answers
                self.release.wait(float(arg or 30))
            return _json(200 if known else 201, {"id": key}, {"Location": f"/writeback/{key}"})

        return app


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json", headers=headers or {})
