"""The pages a person sees: sign in, pick a client, approve or deny an app, and the apps page where
approvals are withdrawn. Forms carry a CSRF token bound to the session."""
from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, redirect, render_template, request, session
from flask.sessions import SecureCookieSessionInterface

from . import store
from .i18n import LANGUAGES, TEXT, describe_scope
from .login import PasswordAuthenticator, attempt_succeeded, begin_attempt, throttled
from .models import Principal
from .urls import is_https

SESSION_SECONDS = 8 * 3600  # a sign-in is good for a working day


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, HttpOnly and SameSite=Lax always, Secure when served over https."""

    def get_cookie_secure(self, app):
        return is_https(app.config["SAMENZORG"])

    def get_cookie_samesite(self, app):
        return "Lax"

    def get_cookie_httponly(self, app):
        return True

    def get_cookie_name(self, app):
        return "samenzorg_session"

    def open_session(self, app, request):
        # The FHIR API takes bearer tokens only: no cookie is read (nor its signature checked) there.
        if request.path == "/fhir" or request.path.startswith("/fhir/"):
            return None  # Flask's null session: nothing to save
        return super().open_session(app, request)

    def get_signing_serializer(self, app):
        # Flask builds the serializer anew for every request, FHIR ones included (5 % of a read);
        # it depends only on the app's keys, so it is built once per set of keys.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if getattr(self, "_keys", None) != keys:
            self._serializer, self._keys = super().get_signing_serializer(app), keys
        return self._serializer


def install_session(app, settings) -> None:
    app.secret_key = settings.derived_key("oauth-session")
    app.session_interface = SessionInterface()


def _lang() -> str:
    asked = request.values.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
    return session.get("lang", "nl")


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent, kept = request.form.get("csrf_token", ""), session.get("csrf", "")
    return bool(kept) and hmac.compare_digest(sent.encode(), kept.encode())


def _with_lang(lang: str) -> str:
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = lang
    return f"{request.path}?{urlencode(args)}"


def _page(template: str, status: int = 200, **context):
    lang = _lang()
    other = "en" if lang == "nl" else "nl"
    html = render_template(template, t=TEXT[lang], lang=lang, switch_url=_with_lang(other),
                           csrf_token=_csrf_token(), **context)
    return html, status, {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                          # form-action is left open: the consent form's answer redirects to the app.
                          "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                     "frame-ancestors 'none'",
                          "Referrer-Policy": "no-referrer"}


def _error_page(key: str | None = None, status: int = 400, detail: str | None = None):
    return _page("oauth_error.html", status, message_key=key, detail=detail)


def _safe_next(target: str | None) -> str:
    # Only back into our own authorize or apps page: never an open redirect.
    if target and (target.startswith("/oauth/authorize?") or target == "/oauth/apps") and "\\" not in target:
        return target
    return "/oauth/apps"


def register_views(bp: Blueprint, server) -> None:
    engine = server.engine
    # Replaceable (server.authenticator = …) by an organisation's or national login.
    server.authenticator = PasswordAuthenticator(engine)

    def current_user():
        uid, since = session.get("uid"), session.get("auth_time", 0)
        if uid is None or time.time() - since > SESSION_SECONDS:
            return None
        row = store.get_user(engine, user_id=uid)
        return row if row is not None and not row.disabled else None

    @bp.route("/oauth/login", methods=["GET", "POST"])
    def login():
        nxt = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return _page("oauth_login.html", next=nxt)
        if not _csrf_ok():
            return _error_page("bad_csrf")
        username = request.form.get("username", "")[:128]
        ip = request.remote_addr or "-"
        attempt = None if throttled(engine, username, ip) else begin_attempt(engine, username, ip)
        if attempt is None:
            return _page("oauth_login.html", 429, next=nxt, error_key="throttled", username=username)
        user = server.authenticator.authenticate(request)
        if user is None:  # the attempt stays recorded: a failure
            return _page("oauth_login.html", 401, next=nxt, error_key="bad_login", username=username)
        attempt_succeeded(engine, username, attempt)
        lang = session.get("lang")
        session.clear()  # a new session at sign-in: nothing chosen before it carries over
        session.update(uid=user.id, auth_time=int(time.time()), csrf=secrets.token_urlsafe(32))
        if lang:
            session["lang"] = lang
        return redirect(nxt, 303)

    @bp.post("/oauth/logout")
    def logout():
        if _csrf_ok():
            session.clear()
        return redirect("/oauth/login", 303)

    @bp.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize():
        user = current_user()
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            if error.redirect_uri:  # the client and its redirect URI are known: tell the app
                return server.handle_error_response(None, error)
            return _error_page(None, 400, detail=error.description or error.error)
        if user is None:
            if request.method == "POST":
                return _error_page("session_gone")
            return redirect("/oauth/login?" + urlencode({"next": request.full_path}), 303)
        identities = store.links(engine, user.id)
        if not identities:
            return _error_page("no_identity", 403)
        client, scope = grant.client, grant.request.scope
        remembered = set(scope.split()) <= store.approved_scope(engine, user.id, client.client_id)

        def issue(identity):
            principal = Principal(user.id, user.username, user.display_name, identity.reference,
                                  identity.patient_id, session.get("auth_time") or int(time.time()))
            return server.create_authorization_response(grant=grant, grant_user=principal)

        if request.method == "POST":
            if not _csrf_ok():
                return _error_page("bad_csrf")
            if request.form.get("decision") != "approve":
                return server.create_authorization_response(grant=grant, grant_user=None)
            chosen = request.form.get("identity", str(identities[0].link_id) if len(identities) == 1 else "")
            identity = next((i for i in identities if str(i.link_id) == chosen), None)
            if identity is None:
                return _consent(client, scope, identities, remembered, error_key="pick", status=400)
            if not remembered:
                store.approve(engine, user.id, client.client_id, scope)
            return issue(identity)
        if remembered and len(identities) == 1:
            return issue(identities[0])
        return _consent(client, scope, identities, remembered)

    def _consent(client, scope, identities, remembered, error_key=None, status=200):
        lang = _lang()
        return _page("oauth_consent.html", status, app_name=client.name, identities=identities,
                     scopes=[describe_scope(s, lang) for s in scope.split()], remembered=remembered,
                     error_key=error_key, action=request.full_path)

    @bp.get("/oauth/apps")
    def apps():
        user = current_user()
        if user is None:
            return redirect("/oauth/login?" + urlencode({"next": "/oauth/apps"}), 303)
        lang = _lang()
        rows = [(cid, name, [describe_scope(s, lang) for s in scope.split()], since)
                for cid, name, scope, since in store.approvals(engine, user.id)]
        return _page("oauth_apps.html", approvals=rows, user=user)

    @bp.post("/oauth/apps/revoke")
    def revoke_app():
        user = current_user()
        if user is None or not _csrf_ok():
            return _error_page("bad_csrf")
        store.revoke_approval(engine, user.id, request.form.get("client_id", ""))
        return redirect("/oauth/apps", 303)
