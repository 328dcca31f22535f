"""A record system's write-back endpoint for the outbox benchmark: keeps one record per Idempotency-Key.

    python -m bench.receiver PORT      # POST /writeback, GET /count
"""
from __future__ import annotations

import sys
import threading

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


def app() -> Flask:
    flask = Flask("bench-receiver")
    stored: set[str] = set()
    seen = [0]
    lock = threading.Lock()

    @flask.post("/writeback")
    def writeback():
        key = request.headers.get("Idempotency-Key")
        if not key:
            return jsonify(error="Idempotency-Key is required"), 400
        request.get_data()
        with lock:
            seen[0] += 1
            known = key in stored
            stored.add(key)
        return jsonify(id=key), 200 if known else 201

    @flask.get("/count")
    def count():
        with lock:
            return jsonify(requests=seen[0], stored=len(stored))

    return flask


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    make_server("127.0.0.1", int(sys.argv[1]), app(), threaded=True).serve_forever()
