"""The ceiling: a bare Flask app that answers with stored bytes, under Samenzorg's gunicorn settings.

`GET /ceiling/<name>` returns the file <name>.json from `--files` (bytes
Samenzorg served earlier in the same run) as application/fhir+json. No
database, no token, no logging: what Flask and gunicorn cost on this machine.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from flask import Flask, Response, abort


def create_app(files: Path) -> Flask:
    stored = {path.stem: path.read_bytes() for path in files.glob("*.json")}
    app = Flask(__name__)

    @app.get("/ceiling/<name>")
    def answer(name: str):
        if name not in stored:
            abort(404)
        return Response(stored[name], content_type="application/fhir+json")

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.ceiling", description=__doc__)
    parser.add_argument("--files", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):  # the settings `samenzorg serve` gives gunicorn (gateway/cli.py)
            self.cfg.set("bind", f"127.0.0.1:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", None)

        def load(self):
            return create_app(args.files)

    Server().run()


if __name__ == "__main__":
    main()
