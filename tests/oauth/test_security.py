"""Issue 11 item 5, each error path: exact redirect URIs, state, single-use short-lived codes, PKCE,
CSRF on both forms, cookie flags, no secrets in logs, RFC 6749 §5.2 errors, sign-in throttling."""
from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from smart_helpers import (PASSWORD, REDIRECT, authorize_query, csrf_of, identity_values, pkce, redirect_params,
                           sign_in)
from sqlalchemy import update

from gateway.oauth.models import utcnow
from gateway.storage.db import make_engine
from gateway.storage.tables import oauth_codes


def _approve(browser, query, parent="Anna Bosman"):
    page = browser.get(query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    return browser.post(query, data={"csrf_token": csrf_of(html), "decision": "approve",
                                     "identity": identity_values(html)[parent]})


def _code(browser, public_app, **kw):
    verifier, challenge = pkce()
    query = authorize_query(public_app, challenge, **kw)
    sign_in(browser, next_url=query)
    return _approve(browser, query), verifier


def _exchange(app, code, verifier, client_id="portal"):
    return app.test_client().post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "code_verifier": verifier})


def _introspect(app, token, client_id="portal"):
    return app.test_client().post("/oauth/introspect", data={"token": token, "client_id": client_id}).get_json()


@pytest.mark.parametrize("redirect_uri", [REDIRECT + "/", REDIRECT + "?x=1", REDIRECT.upper(),
                                          "http://127.0.0.1:9/callbac", "http://evil.example/callback"])
def test_a_redirect_uri_that_is_not_exactly_the_registered_one_gets_an_error_page_not_a_redirect(
        browser, public_app, els, redirect_uri):
    sign_in(browser)
    resp = browser.get(authorize_query(public_app, pkce()[1], redirect_uri=redirect_uri))
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "Redirect URI" in resp.get_data(as_text=True)


def test_an_unknown_client_gets_an_error_page_and_no_redirect(browser, public_app, els):
    resp = browser.get(authorize_query("nobody", pkce()[1]))
    assert resp.status_code == 400 and "Location" not in resp.headers


def test_an_authorization_request_without_state_is_sent_back_as_invalid_request(browser, public_app, els):
    sign_in(browser)
    params = redirect_params(browser.get(authorize_query(public_app, pkce()[1], state=None)))
    assert params["error"] == "invalid_request" and "state" in params["error_description"]
    assert "code" not in params


@pytest.mark.parametrize("change, says", [
    ({"code_challenge": None, "code_challenge_method": None}, "PKCE"),
    ({"code_challenge_method": "plain"}, "code_challenge_method"),
    ({"aud": "http://elsewhere.example/fhir"}, "aud"),
    ({"aud": None}, "'aud' is required"),
])
def test_a_public_app_must_use_s256_pkce_and_name_this_server_as_aud(browser, public_app, els, change, says):
    sign_in(browser)
    verifier, challenge = pkce()
    query = authorize_query(public_app, challenge, **change)
    params = redirect_params(browser.get(query))
    assert params["error"] == "invalid_request" and says in params["error_description"]


def test_a_denied_request_returns_access_denied_with_the_state(browser, public_app, els):
    query = authorize_query(public_app, pkce()[1])
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    params = redirect_params(browser.post(query, data={"csrf_token": csrf_of(html), "decision": "deny"}))
    assert params == {"error": "access_denied", "state": "st-1"} | {k: params[k] for k in params
                                                                     if k == "error_description"}


def test_a_code_works_once_and_its_reuse_revokes_the_tokens_issued_from_it(app, browser, public_app, els):
    resp, verifier = _code(browser, public_app)
    code = redirect_params(resp)["code"]
    first = _exchange(app, code, verifier)
    assert first.status_code == 200
    tokens = first.get_json()
    assert _introspect(app, tokens["access_token"])["active"] is True
    again = _exchange(app, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert _introspect(app, tokens["access_token"]) == {"active": False}
    assert _introspect(app, tokens["refresh_token"]) == {"active": False}
    refresh = app.test_client().post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "portal",
                                                           "refresh_token": tokens["refresh_token"]})
    assert refresh.get_json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(app, settings, browser, public_app, els):
    resp, verifier = _code(browser, public_app)
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:  # the code was issued long ago
        conn.execute(update(oauth_codes).values(expires_at=utcnow() - timedelta(seconds=1)))
    engine.dispose()
    again = _exchange(app, redirect_params(resp)["code"], verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_a_wrong_code_verifier_or_another_clients_code_is_refused(app, browser, public_app, confidential_app, els):
    resp, verifier = _code(browser, public_app)
    code = redirect_params(resp)["code"]
    assert _exchange(app, code, "x" * 50).get_json()["error"] == "invalid_grant"
    resp, verifier = _code(browser, public_app, state="st-2")
    other = app.test_client().post("/oauth/token", data={
        "grant_type": "authorization_code", "code": redirect_params(resp)["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier}, auth=("zorgapp", "s3cret-for-tests-only-0123456789"))
    assert other.get_json()["error"] == "invalid_grant"


def test_the_login_form_refuses_a_post_without_its_csrf_token(browser, els):
    browser.get("/oauth/login")
    for token in (None, "forged"):
        data = {"username": "els", "password": PASSWORD, "next": "/oauth/apps"}
        if token:
            data["csrf_token"] = token
        resp = browser.post("/oauth/login", data=data)
        assert resp.status_code == 400
    assert browser.get("/oauth/apps").status_code == 303  # still not signed in


def test_the_consent_form_refuses_a_post_without_its_csrf_token(browser, public_app, els):
    query = authorize_query(public_app, pkce()[1])
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    ident = identity_values(html)["Anna Bosman"]
    for token in (None, "forged"):
        data = {"decision": "approve", "identity": ident}
        if token:
            data["csrf_token"] = token
        resp = browser.post(query, data=data)
        assert resp.status_code == 400 and "Location" not in resp.headers


def _session_cookie(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("samenzorg_session=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax_and_secure_only_over_https(app, els):
    cookie = _session_cookie(app.test_client().get("/oauth/login"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    cookie = _session_cookie(app.test_client().get("/oauth/login", base_url="https://localhost"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_no_password_code_or_token_reaches_the_log(app, browser, public_app, els, caplog):
    caplog.set_level(logging.DEBUG)
    resp, verifier = _code(browser, public_app)
    code = redirect_params(resp)["code"]
    tokens = _exchange(app, code, verifier).get_json()
    app.test_client().post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "portal",
                                                 "refresh_token": tokens["refresh_token"]})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the requests were logged …
    for secret in (PASSWORD, code, tokens["access_token"], tokens["refresh_token"], tokens["id_token"], verifier):
        assert secret not in logged  # … without any secret


@pytest.mark.parametrize("method, data, headers, status, error", [
    ("post", {}, {}, 400, "invalid_request"),
    ("post", {"scope": "openid"}, {}, 400, "unsupported_grant_type"),
    ("post", {"grant_type": "password", "username": "els", "password": PASSWORD}, {}, 400, "unsupported_grant_type"),
    ("post", {"grant_type": "authorization_code", "client_id": "portal"}, {}, 400, "invalid_request"),
    ("post", {"grant_type": "authorization_code", "client_id": "portal", "code": "nope", "code_verifier": "x" * 43},
     {}, 400, "invalid_grant"),
    ("post", {"grant_type": "client_credentials", "client_id": "portal"}, {}, 401, "invalid_client"),
    ("post", {"grant_type": "client_credentials", "client_id": "zorgapp", "client_secret": "wrong"}, {}, 401,
     "invalid_client"),
    ("post", {"grant_type": "client_credentials"}, {"Authorization": "Basic em9yZ2FwcDp3cm9uZw=="}, 401,
     "invalid_client"),
    ("post", {"grant_type": "refresh_token", "client_id": "portal", "refresh_token": "made-up"}, {}, 400,
     "invalid_grant"),
    ("get", None, {}, 405, "invalid_request"),
])
def test_every_bad_token_request_gets_an_rfc6749_json_error(app, public_app, confidential_app, method, data,
                                                           headers, status, error):
    resp = getattr(app.test_client(), method)("/oauth/token", data=data, headers=headers)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json" and resp.get_json()["error"] == error
    assert "no-store" in resp.headers.get("Cache-Control", "")


def test_a_json_body_at_the_token_endpoint_is_an_rfc6749_error(app, public_app):
    resp = app.test_client().post("/oauth/token", json={"grant_type": "client_credentials"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"


def test_sign_in_is_throttled_after_five_failures_for_that_user_even_with_the_right_password(browser, els):
    for _ in range(5):
        assert sign_in(browser, password="wrong password").status_code == 401
    resp = sign_in(browser)
    assert resp.status_code == 429
    assert browser.get("/oauth/apps").status_code == 303


def test_sign_in_is_throttled_per_address_across_usernames(browser, settings, els):
    for i in range(20):
        assert sign_in(browser, username=f"guess{i}", password="wrong password").status_code == 401
    assert sign_in(browser).status_code == 429


def test_signing_in_redirects_only_back_into_this_server(browser, els):
    page = browser.get("/oauth/login?next=https://evil.example/")
    resp = browser.post("/oauth/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": "els",
                                              "password": PASSWORD, "next": "//evil.example/x"})
    assert resp.status_code == 303 and urlsplit(resp.headers["Location"]).path == "/oauth/apps"
    assert not urlsplit(resp.headers["Location"]).netloc or "evil" not in resp.headers["Location"]
    assert parse_qs(urlsplit(resp.headers["Location"]).query) == {}
