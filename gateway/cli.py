"""The `samenzorg` command."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


from connectors.config import ConfigError

from .config import Settings
from .errors import FhirError

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "networks"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="samenzorg", description="Samenzorg FHIR gateway for informal-care networks.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the FHIR API with gunicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument("--demo", action="store_true",
                   help="upgrade the database and load the demo networks when it is empty")
    p.set_defaults(func=_serve)

    p = sub.add_parser("db", help="database schema")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="create or migrate the schema to the newest version")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=_db_upgrade)

    p = sub.add_parser("load", help="load FHIR data: a Bundle (transaction, batch or collection) or NDJSON")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=_load)

    p = sub.add_parser("import-network", help="import care-network documents (each file one transaction)")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=_import_network)

    p = sub.add_parser("reindex", help="rebuild the search and consent index rows of stored resources")
    p.add_argument("--type", dest="res_type", help="only this resource type")
    p.set_defaults(func=_reindex)

    p = sub.add_parser("token", help="print a signed development token (HS256, the server's own secret)")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--fhir-user", help="e.g. RelatedPerson/123, Practitioner/9, Patient/5")
    who.add_argument("--system", action="store_true", help="a system client (ECD, vendor)")
    p.add_argument("--scope", required=True, help='SMART scopes, e.g. "system/*.cruds" or "user/*.rs"')
    p.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")
    p.add_argument("--client-id", default="samenzorg-dev", help="the app the token is for (azp)")
    p.set_defaults(func=_token)

    from .sync_cli import add_commands as add_sync_commands

    add_sync_commands(sub)

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        return args.func(settings, args) or 0
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FhirError as error:
        for issue in error.issues:
            print(f"error: {issue.diagnostics}" + (f" ({', '.join(issue.expression)})" if issue.expression else ""),
                  file=sys.stderr)
        return 1


def _db_upgrade(settings: Settings, args) -> int:
    from .storage.db import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at {_safe_url(settings.database_url)} is at revision {args.revision}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _load(settings: Settings, args) -> int:
    from .loading import load_files

    for path, summary in load_files(settings, args.files):
        print(f"{path}: {summary}")
    return 0


def _import_network(settings: Settings, args) -> int:
    from .loading import import_network_files

    for path, summary in import_network_files(settings, args.files):
        counts = ", ".join(f"{len(refs)} {change}" for change, refs in summary.items())
        print(f"{path}: {counts}")
    return 0


def _reindex(settings: Settings, args) -> int:
    from .loading import in_transaction
    from .storage.db import make_engine

    engine = make_engine(settings.database_url)
    total, after = 0, 0
    try:
        while True:  # a transaction per batch, so a long reindex never holds the write lock for long
            done, after = in_transaction(settings, engine,
                                         lambda ctx: ctx.repo.reindex(args.res_type, after_rid=after))
            if not done:
                break
            total += done
    finally:
        engine.dispose()
    print(f"reindexed {total} resources")
    return 0


def _token(settings: Settings, args) -> int:
    from .auth import mint

    if settings.jwks_url:
        print("error: this server verifies tokens with keys from SAMENZORG_JWKS_URL; "
              "a dev token signed with the local secret would be refused.", file=sys.stderr)
        return 1
    print(mint(settings, scope=args.scope, fhir_user=None if args.system else args.fhir_user,
               ttl=args.ttl, client_id=args.client_id))
    return 0


def _print_demo_tokens(settings: Settings) -> None:
    from .demo import demo_tokens

    print("\nDemo bearer tokens (valid 12 hours; use as 'Authorization: Bearer <token>'):")
    for label, user, token in demo_tokens(settings, DEMO_DIR):
        print(f"\n# {label}  [{user}]\n{token}")
    print()


def _serve(settings: Settings, args) -> int:
    if args.demo:
        from .loading import load_demo_if_empty
        from .storage.db import upgrade

        upgrade(settings.database_url)
        loaded = load_demo_if_empty(settings, DEMO_DIR)
        print(f"demo data: {loaded}")
        _print_demo_tokens(settings)
    from .storage.db import current_revision, head_revision

    if current_revision(settings.database_url) != head_revision():
        print("error: the database schema is not current; run `samenzorg db upgrade` first.", file=sys.stderr)
        return 1
    from gunicorn.app.base import BaseApplication

    from .server import SETTINGS as SERVER_SETTINGS

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            for name, value in SERVER_SETTINGS.items():  # our worker, held to the stated limits
                self.cfg.set(name, value)
            self.cfg.set("accesslog", None)

        def load(self):
            from .app import create_app

            return create_app(settings)

    print(f"Samenzorg serving on http://{args.host}:{args.port}/fhir", flush=True)
    Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
