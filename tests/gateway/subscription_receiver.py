"""A subscriber's rest-hook endpoint as a real local HTTP server (a free 127.0.0.1 port).

It records every POST (headers and body). Behaviours, from `script` then `default`: "ok";
"503"; "hang" (answers only when the test ends: the caller's read times out). `stop()` takes it
down (connections refused) and `start()` brings it back on the same port.
"""
from __future__ import annotations

import threading
from collections import deque

from flask import Flask, Response, request
from werkzeug.serving import make_server


class Hook:
    def __init__(self, default: str = "ok"):
        self.default = default
        self.script: deque[str] = deque()
        self.received: list[tuple[dict, bytes]] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.app = self._app()
        self.port = 0
        self.server = None
        self.thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> "Hook":
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None
            self.release.clear()

    def __enter__(self) -> "Hook":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _app(self) -> Flask:
        app = Flask("subscription-hook")

        @app.post("/hook")
        def hook():
            with self.lock:
                step = self.script.popleft() if self.script else self.default
                if step != "503":
                    self.received.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
            if step == "503":
                return Response("busy", status=503)
            if step == "hang":
                self.release.wait(30)
            return Response(status=204)

        return app
