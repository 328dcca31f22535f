"""create_app(config): wiring only."""
from __future__ import annotations

import functools
import logging
import re
import time
import uuid

import orjson
from flask import Flask, Response, g, request
from sqlalchemy import exc as sa_exc, text
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header
from werkzeug.sansio.utils import get_current_url

from . import audit_store, cors, limits, memory, oauth
from .access import Access
from .auth import TokenVerifier, access_from_header
from .config import Settings
from .audit_commit import GroupCommit
from .consent_cache import ConsentCache
from .errors import FhirError, Issue, NotAcceptable, Unavailable, UnsupportedMediaType, internal_error, outcome
from .fhirhttp import FhirRequest, FhirResponse
from .interactions import Context
from .policy import Policy
from .portal import portal
from .repository import Repository
from .routes import PUBLIC_PATHS, dispatch, resolve
from .storage.db import connect, make_engine
from .interactions.bundle import written_resources
from .validation import checked_ahead, parse_json

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir", "text/json"}
_FORMATS = {"json", "application/fhir+json", "application/json", "application/json+fhir"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
log = logging.getLogger("samenzorg.request")


def create_app(config: Settings | dict | None = None) -> Flask:
    if config is None:
        settings = Settings.from_env()
    elif isinstance(config, dict):
        settings = Settings.from_env().with_(**config)
    else:
        settings = config
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")

    app = Flask(__name__)
    app.config["SAMENZORG"] = settings
    engine = make_engine(settings.database_url)
    app.extensions["samenzorg.engine"] = engine
    verifier = TokenVerifier(settings)
    consents = ConsentCache()  # checked against the database on every request (consent_cache.py)
    app.extensions["samenzorg.consent_cache"] = consents
    audits = GroupCommit()  # concurrent reads' audit records share one commit (audit_commit.py)
    write_back = _write_back(settings)

    trimming = memory.Every()

    @app.before_request
    def start():
        g.started = time.perf_counter()
        environ = request.environ
        given = environ.get("HTTP_X_REQUEST_ID", "")
        # Echoed into logs and headers: accept only a short, plain token from the caller.
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ["HTTP_X_REQUEST_ID"] = g.request_id  # so handlers (e.g. batch entries) can quote it

    @app.after_request
    def finish(response: Response):
        if (request.content_length or 0) >= memory.LARGE_BODY or trimming.due():
            # Once the answer is sent (and a large body freed), give free memory back (memory.py).
            response.call_on_close(lambda: memory.trim())
        response.headers["X-Request-ID"] = g.request_id
        if log.isEnabledFor(logging.INFO):
            log.info(orjson.dumps({
                "event": "request", "request_id": g.request_id, "method": request.method,
                "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
            }).decode())
        return response

    cors.install(app, cors.origins(settings.cors_origins))
    oauth.install(app, settings, engine)  # the SMART authorization server: /oauth/…, /.well-known/…
    limits.install(app, settings)  # bodies over the stated size are 413 before they are read

    @app.get("/healthz")
    def healthz():
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any failure to reach the database is "not ready"
            logging.getLogger("samenzorg").exception("health check: database unreachable")
            return _json(503, {"status": "unavailable", "database": "unreachable"})
        return _json(200, {"status": "ok", "database": "ok"})

    app.register_blueprint(portal)  # the reference family portal's static files (/portal)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

    @app.route("/fhir", methods=methods, strict_slashes=False, defaults={"path": ""})
    @app.route("/fhir/<path:path>", methods=methods)
    def fhir(path: str):
        try:
            return _to_flask(_serve(settings, verifier, engine, consents, audits, path.strip("/"), write_back))
        except FhirError as error:
            return _error(error)

    @app.errorhandler(FhirError)
    def fhir_error(error: FhirError):  # raised outside the FHIR route, e.g. by a request hook
        return _error(error)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/oauth/"):  # OAuth clients read RFC 6749 errors there, not FHIR
            from .oauth.server import oauth_error

            return oauth_error("invalid_request", exc.description, exc.code)
        code = {404: "not-found", 405: "not-supported", 413: "too-costly"}.get(exc.code, "invalid")
        return _to_flask(FhirResponse(exc.code, orjson.dumps(outcome([Issue("error", code, exc.description)]))))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            # The database dropped the connection (a restart): the pool has let go of every connection
            # it held, and the next request gets a new one.
            logging.getLogger("samenzorg").warning("database connection lost (request %s): %s",
                                                   g.get("request_id"), exc.orig)
            return _error(Unavailable("The database connection was lost; retry.", headers={"Retry-After": "1"}))
        logging.getLogger("samenzorg").exception("unhandled error (request %s)", g.get("request_id"))
        error = internal_error(g.get("request_id"))
        return _to_flask(FhirResponse(500, orjson.dumps(outcome(error.issues))))

    return app


def _write_back(settings: Settings):
    """The outbox hook when sources are configured (SAMENZORG_CONFIG / ./samenzorg.toml), else None."""
    from connectors.config import load_config

    from .outbox import WriteBack

    config = load_config(settings.config or None)
    return WriteBack(config) if config.sources else None


def _serve(settings: Settings, verifier: TokenVerifier, engine, consents: ConsentCache, audits: GroupCommit,
           path: str, write_back=None) -> FhirResponse:
    _negotiate()
    route = resolve(request.method, path)
    base_url = _base_url(settings)
    if path in PUBLIC_PATHS:
        access = Access.anonymous()
    else:
        access = access_from_header(request.headers.get("Authorization"), verifier, base_url)
    freq = _fhir_request(path, route[1], base_url)
    write = request.method in ("POST", "PUT", "PATCH", "DELETE")
    if audit_store.may_read(freq.method, path, freq.query + list(freq.params.get("form", ())), freq.body):
        # Audit records are appended compactly; they become AuditEvents before anything reads them.
        audit_store.settle_all(engine, shown_to=_own_trail_only(access, engine, consents))
    # What a write stores is checked before its transaction begins, outside SQLite's write lock.
    with checked_ahead(_written(freq, route[2])), connect(engine, write) as conn:
        repo = Repository(conn, access, consents)
        repo.write_back = write_back
        repo.base_url = base_url
        repo.allow_http_endpoints = settings.allow_http_subscriptions
        try:
            with conn.begin():
                response = dispatch(Context(repo, settings, freq.base_url, dispatch), freq, route)
                if write:
                    repo.flush_audits()  # a write's audit record commits with the write
        except FhirError:
            # The request's own work is rolled back and it disclosed nothing; what the repository
            # recorded of it as refused (a refusal, a failed read) is still written.
            repo.discard_disclosures()
            if repo.audits:
                audits.commit(conn, repo)
            raise
        # A read holds no write lock while it works (SQLite has one for the whole database): what it
        # disclosed is recorded in a short write transaction, shared with other threads' records
        # (group commit), committed before the response leaves (audit before disclosure).
        if repo.audits:
            audits.commit(conn, repo)
        return response


def _own_trail_only(access: Access, engine, consents: ConsentCache) -> str | None:
    """The caller, when all they may see of AuditEvents is their own access trail: a carer who is
    not their client's representative (policy.py); None: any pending record may concern the caller
    (audit_store.settle_all)."""
    if access.role != "related-person":
        return None
    with connect(engine) as conn:
        return None if Policy(conn, access, cache=consents).patients else access.fhir_user


def _written(freq: FhirRequest, interaction: str) -> list:
    """The resources a create, update or Bundle would store."""
    if interaction in ("create", "update") and isinstance(freq.body, dict):
        return [freq.body]
    return written_resources(freq.body) if interaction == "transaction" else []


def _negotiate() -> None:
    fmt = request.args.get("_format")
    if fmt is not None and fmt.split(";")[0].strip().lower() not in _FORMATS:
        raise NotAcceptable(f"_format '{fmt}' is not served; this server speaks FHIR JSON only.")
    if fmt is None and not _accepts_json(request.environ.get("HTTP_ACCEPT", "")):
        raise NotAcceptable("This server answers in application/fhir+json only.")


@functools.lru_cache(maxsize=64)  # bounded: the header is the caller's; clients send the same few
def _accepts_json(accept: str) -> bool:
    """Whether an Accept header lets us answer in JSON (no Accept, or no type it names, does)."""
    offered = [m.split(";")[0].strip().lower() for m, q in parse_accept_header(accept, MIMEAccept) if q > 0]
    return not offered or any(m in _JSON_TYPES or m in ("*/*", "application/*") for m in offered)


def _base_url(settings: Settings) -> str:
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return _served_base(request.scheme, request.host, request.root_path)


@functools.lru_cache(maxsize=64)  # bounded: the Host header is the caller's
def _served_base(scheme: str, host: str, root_path: str) -> str:
    """The FHIR base under which this request reached us (werkzeug's `url_root`, which it builds
    anew for every request, plus /fhir)."""
    return get_current_url(scheme, host, root_path).rstrip("/") + "/fhir"


def _fhir_request(path: str, params: dict, base_url: str) -> FhirRequest:
    raw = request.get_data(cache=False)
    body = None
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "_format"]
    if path.endswith("_search") and request.method == "POST":
        form_type = (request.mimetype or "").lower()
        if raw and form_type != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("POST _search takes application/x-www-form-urlencoded parameters.")
        from urllib.parse import parse_qsl

        params = {**params, "form": parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)}
    elif raw and request.method in ("POST", "PUT", "PATCH"):
        mimetype = (request.mimetype or "").lower()
        accepted = _JSON_TYPES | ({"application/json-patch+json"} if request.method == "PATCH" else set())
        if mimetype not in accepted:
            raise UnsupportedMediaType(f"Content-Type '{request.mimetype or 'none'}' is not accepted; "
                                       "send application/fhir+json.")
        body = parse_json(raw)
    headers = {k.lower(): v for k, v in request.headers.items()}
    return FhirRequest(request.method, path, query, headers, body, raw, base_url, params)


def _to_flask(resp: FhirResponse) -> Response:
    # Headers given to the constructor, not set one by one afterwards (that cost as much again); a
    # body is FHIR JSON unless the response names its own Content-Type (spelled so, as ours are).
    fhir_json = resp.body is not None and "Content-Type" not in resp.headers
    return Response(resp.body if resp.body is not None else b"", status=resp.status, headers=resp.headers,
                    content_type=f"{FHIR_JSON}; charset=utf-8" if fhir_json else None)


def _error(error: FhirError) -> Response:
    resp = FhirResponse(error.status, orjson.dumps(outcome(error.issues)), dict(error.headers))
    if error.status == 401:
        resp.headers.setdefault("WWW-Authenticate", "Bearer")
    return _to_flask(resp)


def _json(status: int, payload: dict) -> Response:
    return Response(orjson.dumps(payload), status=status, mimetype="application/json")
