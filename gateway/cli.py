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

    _oauth_commands(sub)

    from .outbox.commands import add_commands as add_outbox_commands

    add_outbox_commands(sub)  # outbox list|retry|drop|flush, worker

    from .sync_cli import add_commands as add_sync_commands

    add_sync_commands(sub)

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    from .oauth.admin import AdminError

    try:
        return args.func(settings, args) or 0
    except AdminError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ConfigError as error:  # the sources file (samenzorg.toml) is wrong: say where, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FhirError as error:
        for issue in error.issues:
            print(f"error: {issue.diagnostics}" + (f" ({', '.join(issue.expression)})" if issue.expression else ""),
                  file=sys.stderr)
        return 1


def _oauth_commands(sub) -> None:
    """`client …` and `user …`: the apps and people of the SMART authorization server (gateway/oauth)."""
    p = sub.add_parser("client", help="apps that may ask for tokens (SMART App Launch, backend services)")
    csub = p.add_subparsers(dest="client_command", required=True)
    add = csub.add_parser("add", help="register an app; prints its client_id")
    add.add_argument("--name", required=True, help="shown to people on the consent screen")
    add.add_argument("--redirect-uri", action="append", default=[], help="exact redirect URI (repeatable)")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--public", action="store_true", help="a browser or mobile app: no secret, PKCE required")
    kind.add_argument("--secret-from-env", metavar="VAR", help="a confidential app whose secret is in $VAR")
    kind.add_argument("--jwks-uri", help="private_key_jwt: the app's public keys at this URL")
    kind.add_argument("--jwks-file", type=Path, help="private_key_jwt: the app's public JWK Set")
    add.add_argument("--scope", help="what it may ever be granted (default: person scopes, or system/*.rs)")
    add.add_argument("--grant", action="append", choices=["authorization_code", "refresh_token", "client_credentials"],
                     help="grant types (repeatable; default by kind)")
    add.add_argument("--client-id", help="choose the client_id (default: random)")
    add.set_defaults(func=_client_add)
    csub.add_parser("list", help="registered apps").set_defaults(func=_client_list)

    p = sub.add_parser("user", help="people who sign in on the login page, and their FHIR identities")
    usub = p.add_subparsers(dest="user_command", required=True)
    add = usub.add_parser("add", help="add a person (password from --password-from-env VAR, else a prompt)")
    add.add_argument("username")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--password-from-env", metavar="VAR")
    add.set_defaults(func=_user_add)
    usub.add_parser("list", help="people and their links").set_defaults(func=_user_list)
    dis = usub.add_parser("disable", help="no more sign-ins; their refresh tokens are revoked")
    dis.add_argument("username")
    dis.add_argument("--enable", action="store_true", help="undo")
    dis.set_defaults(func=_user_disable)
    link = usub.add_parser("link", help="link a person to a FHIR identity (like Person.link)")
    link.add_argument("username")
    link.add_argument("reference", help="RelatedPerson/<id>, Patient/<id> or Practitioner/<id>")
    link.add_argument("--label", help="how the patient picker names it (default: the client's name)")
    link.set_defaults(func=_user_link)
    apps = usub.add_parser("apps", help="the apps a person approved; --revoke CLIENT_ID withdraws one")
    apps.add_argument("username")
    apps.add_argument("--revoke", metavar="CLIENT_ID")
    apps.set_defaults(func=_user_apps)


def _client_add(settings: Settings, args) -> int:
    from .oauth.admin import add_client

    print(add_client(settings, name=args.name, redirect_uris=args.redirect_uri, public=args.public,
                     secret_env=args.secret_from_env, jwks_uri=args.jwks_uri, jwks_file=args.jwks_file,
                     scope=args.scope, grants=args.grant, client_id=args.client_id))
    return 0


def _client_list(settings: Settings, args) -> int:
    from .oauth.admin import list_clients

    for c in list_clients(settings):
        print(f"{c.client_id}\t{c.name}\t{c.auth_method}\t{' '.join(c.grant_types)}\t{c.scope}\t"
              f"{' '.join(c.redirect_uris)}" + ("\tdisabled" if c.disabled else ""))
    return 0


def _user_add(settings: Settings, args) -> int:
    from .oauth.admin import add_user, read_password

    add_user(settings, args.username, args.name, read_password(args.password_from_env))
    print(f"user {args.username} added; link them with `samenzorg user link {args.username} RelatedPerson/<id>`")
    return 0


def _user_list(settings: Settings, args) -> int:
    from .oauth.admin import users

    for username, name, disabled, links in users(settings):
        print(f"{username}\t{name}" + ("\tdisabled" if disabled else "") + "".join(f"\n  {x}" for x in links))
    return 0


def _user_disable(settings: Settings, args) -> int:
    from .oauth.admin import disable_user

    disable_user(settings, args.username, not args.enable)
    print(f"user {args.username} {'enabled' if args.enable else 'disabled'}")
    return 0


def _user_link(settings: Settings, args) -> int:
    from .oauth.admin import link_user

    label, patient = link_user(settings, args.username, args.reference, args.label)
    print(f"{args.username} -> {args.reference} ({label}" + (f", patient {patient})" if patient else ")"))
    return 0


def _user_apps(settings: Settings, args) -> int:
    from .oauth.admin import user_apps

    rows = user_apps(settings, args.username, args.revoke)
    if args.revoke:
        print(f"withdrew {args.username}'s approval for {args.revoke}")
    for client_id, name, scope, since in rows:
        print(f"{client_id}\t{name}\t{since:%Y-%m-%d %H:%M}\t{scope}")
    return 0


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


def _print_demo_logins(settings: Settings, args) -> None:
    from .oauth.demo import DEMO_PASSWORD, demo_redirect_uris, ensure_demo_logins

    uris = demo_redirect_uris(args.host, args.port)
    logins = ensure_demo_logins(settings, DEMO_DIR, uris)
    print(f"Demo logins for the SMART login page (password for all: {DEMO_PASSWORD}; demo data only).")
    print(f"The family portal: http://{args.host}:{args.port}/portal/ (public SMART app "
          f"{settings.portal_client_id}, PKCE; redirect URIs {', '.join(uris)})")
    for username, links in logins:
        print(f"  {username}: " + "; ".join(links))
    print()


def _serve(settings: Settings, args) -> int:
    if args.demo:
        from .loading import load_demo_if_empty
        from .storage.db import upgrade

        upgrade(settings.database_url)
        loaded = load_demo_if_empty(settings, DEMO_DIR)
        print(f"demo data: {loaded}")
        _print_demo_tokens(settings)
        _print_demo_logins(settings, args)
    from connectors.config import load_config

    load_config(settings.config or None)  # a wrong sources file stops here with its message, not in a worker
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
