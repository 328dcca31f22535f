"""Wiring: Authlib's AuthorizationServer with our grants, the /oauth endpoints, and the discovery
documents. Every answer of the token, revocation and introspection endpoints is RFC 6749 JSON."""
from __future__ import annotations

import base64
import binascii
import logging

import orjson
from authlib.integrations.flask_oauth2 import AuthorizationServer
from flask import Blueprint, Flask, Response, current_app

from ..config import Settings
from . import store
from .discovery import openid_configuration, smart_configuration
from .grants import (ClientCredentials, CodeGrant, Introspection, PrivateKeyJWT, RefreshGrant, Revocation,
                     SmartCodeChallenge, SmartOpenIDCode, TokenGenerator, save_token)
from .keys import signing_key

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class SmartAuthorizationServer(AuthorizationServer):
    def __init__(self, app: Flask, settings: Settings, engine):
        self.settings, self.engine = settings, engine
        super().__init__(app, query_client=lambda client_id: store.get_client(engine, client_id),
                         save_token=lambda token, request: save_token(self, token, request))
        self.register_token_generator("default", TokenGenerator(self))
        self.register_grant(CodeGrant, [SmartCodeChallenge(required=True), SmartOpenIDCode(self)])
        self.register_grant(RefreshGrant)
        self.register_grant(ClientCredentials)
        self.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(self))
        self.register_endpoint(Revocation(self))
        self.register_endpoint(Introspection(self))


def _json(payload: dict, status: int = 200, **headers) -> Response:
    resp = Response(orjson.dumps(payload), status=status, mimetype="application/json")
    resp.headers.update(headers)
    return resp


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status,
                 **{"Cache-Control": "no-store", "Pragma": "no-cache"})


def malformed_basic(header: str | None) -> bool:
    """An Authorization header Authlib's Basic parser raises on (a 500, not an RFC 6749 error): a
    scheme with nothing after it, or Basic credentials that are not UTF-8."""
    if not header or " " not in header:
        return False
    parts = header.split(None, 1)
    if len(parts) != 2:
        return True
    if parts[0].lower() != "basic":
        return False
    try:
        base64.b64decode(parts[1]).decode("utf-8")
    except binascii.Error:
        return False  # Authlib reads undecodable base64 as no credentials
    except UnicodeDecodeError:
        return True
    return False


def install(app: Flask, settings: Settings, engine) -> SmartAuthorizationServer:
    # Authlib logs issued tokens at DEBUG; tokens never reach a log, whatever the log level.
    logging.getLogger("authlib").setLevel(logging.INFO)
    server = SmartAuthorizationServer(app, settings, engine)
    app.extensions["samenzorg.oauth"] = server
    bp = Blueprint("oauth", __name__, template_folder="templates")

    def post_only(handler):
        def view():
            from flask import request

            if request.method != "POST":
                return oauth_error("invalid_request", f"{request.path} takes POST only.", 405)
            if request.mimetype != "application/x-www-form-urlencoded":
                return oauth_error("invalid_request", "Send the parameters as application/x-www-form-urlencoded.")
            if malformed_basic(request.headers.get("Authorization")):
                resp = oauth_error("invalid_client", "The Authorization header is not 'Basic <base64 of "
                                   "client_id:client_secret>'.", 401)
                resp.headers["WWW-Authenticate"] = 'Basic realm="samenzorg"'
                return resp
            return handler()
        view.__name__ = handler.__name__
        return view

    @post_only
    def token():
        return server.create_token_response()

    @post_only
    def revoke():
        return server.create_endpoint_response(Revocation.ENDPOINT_NAME)

    @post_only
    def introspect():
        return server.create_endpoint_response(Introspection.ENDPOINT_NAME)

    bp.add_url_rule("/oauth/token", view_func=token, methods=ANY_METHOD)
    bp.add_url_rule("/oauth/revoke", view_func=revoke, methods=ANY_METHOD)
    bp.add_url_rule("/oauth/introspect", view_func=introspect, methods=ANY_METHOD)

    @bp.get("/oauth/jwks")
    def jwks():
        return _json(signing_key(settings).public_jwks, **{"Cache-Control": "public, max-age=300"})

    @bp.get("/.well-known/smart-configuration")
    def smart_config():
        return _json(smart_configuration(settings))

    @bp.get("/.well-known/openid-configuration")
    def openid_config():
        return _json(openid_configuration(settings))

    from .views import register_views

    register_views(bp, server)
    app.register_blueprint(bp)
    return server


def current_server() -> SmartAuthorizationServer:
    return current_app.extensions["samenzorg.oauth"]
