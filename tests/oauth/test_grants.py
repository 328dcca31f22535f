"""Token endpoint grants beyond the browser flow: client_credentials (secret and private_key_jwt),
refresh rotation and revocation, introspection, and which scopes each kind of client is granted."""
from __future__ import annotations

import json
import time
import uuid

import jwt as pyjwt
import pytest
from joserfc.jwk import KeySet, RSAKey
from smart_helpers import REDIRECT, authorize_query, csrf_of, identity_values, pkce, redirect_params, sign_in

from gateway.oauth import admin
from gateway.oauth.keys import signing_key

SECRET = "s3cret-for-tests-only-0123456789"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _person_tokens(app, browser, scope="openid fhirUser launch/patient patient/*.rs offline_access"):
    verifier, challenge = pkce()
    query = authorize_query("portal", challenge, scope=scope)
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    resp = browser.post(query, data={"csrf_token": csrf_of(html), "decision": "approve",
                                     "identity": identity_values(html)["Anna Bosman"]})
    code = redirect_params(resp)["code"]
    resp = app.test_client().post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                        "redirect_uri": REDIRECT, "client_id": "portal",
                                                        "code_verifier": verifier})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _refresh(app, refresh_token):
    return app.test_client().post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "portal",
                                                        "refresh_token": refresh_token})


def _introspect(app, token):
    return app.test_client().post("/oauth/introspect", data={"token": token},
                                  auth=("zorgapp", SECRET)).get_json()


def _read_as(app, token, path):
    api = app.test_client()
    return api.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def system_app(settings, network, monkeypatch):
    monkeypatch.setenv("ECD_SECRET", SECRET)
    return admin.add_client(settings, name="ECD", redirect_uris=[], secret_env="ECD_SECRET",
                            grants=["client_credentials"], scope="system/*.rs", client_id="ecd")


@pytest.fixture
def rsa_key():
    return RSAKey.generate_key(2048, parameters={"kid": "backend-1", "alg": "RS384", "use": "sig"})


@pytest.fixture
def jwt_app(settings, network, tmp_path, rsa_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeySet([rsa_key]).as_dict(private=False)))
    return admin.add_client(settings, name="Backend", redirect_uris=[], jwks_file=path,
                            scope="system/*.rs system/Communication.c", client_id="backend")


def _assertion(key, client_id="backend", aud="http://localhost/oauth/token", jti=None, exp_in=240):
    now = int(time.time())
    # Signed with PyJWT: another implementation than the server's (Authlib/joserfc) checks it.
    return pyjwt.encode({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + exp_in,
                         "jti": jti or uuid.uuid4().hex}, key.as_pem(private=True), algorithm="RS384",
                        headers={"kid": key.kid})


def test_a_system_client_gets_a_system_token_with_its_secret_by_basic_or_post_and_reads_everything(
        app, system_app):
    basic = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials",
                                                         "scope": "system/*.rs"}, auth=("ecd", SECRET))
    post = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials", "scope": "system/*.rs",
                                                        "client_id": "ecd", "client_secret": SECRET})
    for resp in (basic, post):
        body = resp.get_json()
        assert resp.status_code == 200, body
        assert body["scope"] == "system/*.rs" and "refresh_token" not in body and "id_token" not in body
        assert 0 < body["expires_in"] <= 900
        plans = _read_as(app, body["access_token"], "/fhir/CarePlan").get_json()
        assert {e["resource"]["id"] for e in plans["entry"]} == {"plan-ma", "plan-pa"}


def test_a_system_client_asking_for_more_than_it_is_registered_for_gets_only_that_or_invalid_scope(
        app, system_app):
    resp = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials",
                                                        "scope": "system/*.cruds system/CarePlan.rs"},
                                  auth=("ecd", SECRET))
    assert resp.get_json()["scope"] == "system/CarePlan.rs"
    resp = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials",
                                                        "scope": "user/*.rs patient/*.rs"}, auth=("ecd", SECRET))
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_scope"


def test_a_backend_client_authenticates_with_a_signed_assertion_once(app, jwt_app, rsa_key):
    assertion = _assertion(rsa_key)
    data = {"grant_type": "client_credentials", "scope": "system/*.rs", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}
    resp = app.test_client().post("/oauth/token", data=data)
    body = resp.get_json()
    assert resp.status_code == 200, body
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["azp"] == "backend" and claims["sub"] == "backend" and "fhirUser" not in claims
    assert _read_as(app, body["access_token"], "/fhir/Patient").status_code == 200
    replay = app.test_client().post("/oauth/token", data=data)
    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("change", ["other key", "wrong aud", "long-lived", "unknown client"])
def test_a_bad_client_assertion_is_invalid_client(app, jwt_app, rsa_key, change):
    key = rsa_key
    kw = {}
    if change == "other key":
        key = RSAKey.generate_key(2048, parameters={"kid": "backend-1"})
    elif change == "wrong aud":
        kw["aud"] = "http://localhost/fhir"
    elif change == "long-lived":
        kw["exp_in"] = 3600
    elif change == "unknown client":
        kw["client_id"] = "stranger"
    resp = app.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials", "scope": "system/*.rs", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(key, **kw)})
    assert resp.status_code in (400, 401) and resp.get_json()["error"] == "invalid_client"


def test_a_refresh_rotates_the_refresh_token_and_the_old_one_is_refused_afterwards(app, browser, public_app, els):
    first = _person_tokens(app, browser)
    second = _refresh(app, first["refresh_token"])
    body = second.get_json()
    assert second.status_code == 200, body
    assert body["refresh_token"] != first["refresh_token"] and body["patient"] == "ma"
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["fhirUser"] == "RelatedPerson/els-ma" and claims["patient"] == "ma"
    assert _refresh(app, body["refresh_token"]).status_code == 200
    old = _refresh(app, first["refresh_token"])
    assert old.status_code == 400 and old.get_json()["error"] == "invalid_grant"


def test_a_revoked_refresh_token_is_refused(app, browser, public_app, els):
    tokens = _person_tokens(app, browser)
    resp = app.test_client().post("/oauth/revoke", data={"token": tokens["refresh_token"], "client_id": "portal",
                                                         "token_type_hint": "refresh_token"})
    assert resp.status_code == 200
    refused = _refresh(app, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"


def test_introspection_says_active_with_the_launch_context_and_inactive_after_revocation(
        app, browser, public_app, confidential_app, els, settings):
    admin_settings = settings  # the confidential app may introspect others' tokens only with `introspect`
    tokens = _person_tokens(app, browser)
    assert _introspect(app, tokens["access_token"]) == {"active": False}  # not its token, no `introspect` scope
    own = app.test_client().post("/oauth/introspect", data={"token": tokens["access_token"],
                                                            "client_id": "portal"}).get_json()
    assert own["active"] is True and own["patient"] == "ma" and own["fhirUser"] == "RelatedPerson/els-ma"
    assert own["client_id"] == "portal" and "patient/*.rs" in own["scope"].split()
    app.test_client().post("/oauth/revoke", data={"token": tokens["access_token"], "client_id": "portal"})
    for token in (tokens["access_token"], tokens["refresh_token"], "not-a-token", "a.b.c"):
        assert app.test_client().post("/oauth/introspect", data={"token": token, "client_id": "portal"}
                                      ).get_json() == {"active": False}
    assert admin_settings


def test_a_resource_server_with_the_introspect_scope_may_introspect_any_token(app, settings, browser, public_app,
                                                                              els, monkeypatch):
    monkeypatch.setenv("RS_SECRET", SECRET)
    admin.add_client(settings, name="Resource server", redirect_uris=[], secret_env="RS_SECRET",
                     grants=["client_credentials"], scope="introspect", client_id="rs")
    tokens = _person_tokens(app, browser)
    body = app.test_client().post("/oauth/introspect", data={"token": tokens["access_token"]},
                                  auth=("rs", SECRET)).get_json()
    assert body["active"] is True and body["sub"]


def test_a_person_token_never_carries_system_scopes_and_without_offline_access_has_no_refresh_token(
        app, browser, settings, els, network):
    admin.add_client(settings, name="Familieportaal", redirect_uris=[REDIRECT], public=True, client_id="portal",
                     scope="openid fhirUser launch/patient patient/*.rs system/*.cruds offline_access")
    body = _person_tokens(app, browser, scope="openid launch/patient patient/CarePlan.rs system/*.cruds")
    assert body["scope"].split() == ["openid", "launch/patient", "patient/CarePlan.rs"]
    assert "refresh_token" not in body and body["patient"] == "ma"


def test_access_tokens_are_rs256_jwts_with_the_published_kid_and_the_smart_claims(app, browser, public_app, els,
                                                                                  settings):
    tokens = _person_tokens(app, browser)
    jwks = app.test_client().get("/oauth/jwks").get_json()
    header = pyjwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256" and header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert all("d" not in k for k in jwks["keys"])  # public halves only
    key = pyjwt.PyJWK(jwks["keys"][0]).key
    claims = pyjwt.decode(tokens["access_token"], key, algorithms=["RS256"], audience="http://localhost/fhir")
    assert claims["iss"] == "http://localhost/fhir" and claims["azp"] == claims["client_id"] == "portal"
    assert claims["fhirUser"] == "RelatedPerson/els-ma" and claims["patient"] == "ma"
    assert claims["exp"] - claims["iat"] <= 900 and claims["jti"]
    id_token = pyjwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience="portal")
    assert id_token["fhirUser"] == "http://localhost/fhir/RelatedPerson/els-ma"
    assert id_token["iss"] == "http://localhost/fhir"
    assert signing_key(settings).kid == header["kid"]


def test_v1_scopes_are_granted_within_the_registered_v2_ones_and_the_token_works(app, browser, public_app, els):
    body = _person_tokens(app, browser, scope="openid launch/patient patient/*.read patient/*.write user/*.*")
    assert body["scope"].split() == ["openid", "launch/patient", "patient/*.read"]  # write and user/*.* not registered
    assert _read_as(app, body["access_token"], "/fhir/CarePlan/plan-ma").status_code == 200
