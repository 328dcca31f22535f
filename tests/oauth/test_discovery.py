"""Discovery (SMART configuration at the root and under /fhir, OpenID configuration, the
CapabilityStatement's oauth-uris) and the resource side accepting the server's own tokens."""
from __future__ import annotations

import time

import jwt as pyjwt
from smart_helpers import REDIRECT, authorize_query, csrf_of, identity_values, pkce, redirect_params, sign_in

from gateway import create_app
from gateway.oauth.keys import signing_key

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def test_the_smart_configuration_is_the_same_at_the_root_and_under_fhir_and_lists_what_works(anonymous):
    root = anonymous.get("/.well-known/smart-configuration")
    fhir = anonymous.get("/fhir/.well-known/smart-configuration")
    assert root.status_code == fhir.status_code == 200 and root.mimetype == "application/json"
    config = root.get_json()
    assert config == fhir.get_json()
    assert config["issuer"] == "http://localhost/fhir"
    for name, path in (("authorization_endpoint", "authorize"), ("token_endpoint", "token"),
                       ("revocation_endpoint", "revoke"), ("introspection_endpoint", "introspect"),
                       ("jwks_uri", "jwks")):
        assert config[name] == f"http://localhost/oauth/{path}"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["grant_types_supported"]) == {"authorization_code", "client_credentials", "refresh_token"}
    assert {"launch-standalone", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
            "context-standalone-patient", "permission-v2", "sso-openid-connect"} <= set(config["capabilities"])
    assert "launch-ehr" not in config["capabilities"]  # no EHR launch here
    assert {"openid", "fhirUser", "launch/patient", "offline_access"} <= set(config["scopes_supported"])
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
    # every advertised endpoint is served (a GET to a POST-only endpoint answers 405, not 404)
    for name in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "introspection_endpoint",
                 "jwks_uri"):
        assert anonymous.get(config[name].replace("http://localhost", "")).status_code != 404, name


def test_the_openid_configuration_names_the_same_issuer_and_keys(anonymous):
    root = anonymous.get("/.well-known/openid-configuration").get_json()
    under_issuer = anonymous.get("/fhir/.well-known/openid-configuration").get_json()
    assert root == under_issuer
    assert root["issuer"] == "http://localhost/fhir" and root["jwks_uri"] == "http://localhost/oauth/jwks"
    assert root["id_token_signing_alg_values_supported"] == ["RS256"]


def test_the_capability_statement_carries_the_smart_service_and_the_oauth_uris(anonymous):
    security = anonymous.get("/fhir/metadata").get_json()["rest"][0]["security"]
    assert security["service"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}
    ext = next(e for e in security["extension"] if e["url"] == OAUTH_URIS)
    uris = {e["url"]: e["valueUri"] for e in ext["extension"]}
    assert uris["authorize"] == "http://localhost/oauth/authorize"
    assert uris["token"] == "http://localhost/oauth/token"
    assert uris["revoke"] == "http://localhost/oauth/revoke"
    assert uris["introspect"] == "http://localhost/oauth/introspect"


def test_a_configured_base_url_places_the_endpoints_and_the_issuer(settings):
    app = create_app(settings.with_(base_url="https://zorg.example.nl/fhir"))
    config = app.test_client().get("/.well-known/smart-configuration").get_json()
    assert config["issuer"] == "https://zorg.example.nl/fhir"
    assert config["token_endpoint"] == "https://zorg.example.nl/oauth/token"
    app.extensions["samenzorg.engine"].dispose()


def _launch(app, browser, parent="Anna Bosman", scope="openid fhirUser launch/patient patient/*.rs"):
    verifier, challenge = pkce()
    query = authorize_query("portal", challenge, scope=scope)
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    resp = browser.post(query, data={"csrf_token": csrf_of(html), "decision": "approve",
                                     "identity": identity_values(html)[parent]})
    resp = app.test_client().post("/oauth/token", data={
        "grant_type": "authorization_code", "code": redirect_params(resp)["code"], "redirect_uri": REDIRECT,
        "client_id": "portal", "code_verifier": verifier})
    return resp.get_json()


def _get(app, token, path):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_launch_for_one_parent_reads_nothing_of_the_other_parent_though_the_same_daughter_cares_for_both(
        app, browser, public_app, els):
    token = _launch(app, browser, "Anna Bosman")["access_token"]
    assert _get(app, token, "/fhir/CarePlan/plan-ma").status_code == 200
    assert _get(app, token, "/fhir/CarePlan/plan-pa").status_code == 404
    assert _get(app, token, "/fhir/Patient/pa").status_code == 404
    found = _get(app, token, "/fhir/CarePlan?patient=pa").get_json()
    assert found["total"] == 0 and not found.get("entry")
    other = _launch(app, browser, "Jan Bosman")["access_token"]
    assert _get(app, other, "/fhir/CarePlan/plan-pa").status_code == 200
    assert _get(app, other, "/fhir/CarePlan/plan-ma").status_code == 404


def test_a_token_naming_another_patient_than_its_carer_belongs_to_sees_nothing(app, settings, network):
    # Signed with the server's own key (as if issued wrongly): the resource side still confines it.
    now = int(time.time())
    token = pyjwt.encode({"sub": "1", "scope": "patient/*.rs", "fhirUser": "RelatedPerson/els-ma", "patient": "pa",
                          "exp": now + 60, "jti": "x"}, signing_key(settings).private.keys[0].as_pem(private=True),
                         algorithm="RS256", headers={"kid": signing_key(settings).kid})
    for path in ("/fhir/CarePlan/plan-ma", "/fhir/CarePlan/plan-pa"):
        assert _get(app, token, path).status_code == 404


def test_own_tokens_are_verified_locally_even_with_an_external_idp_configured(settings, browser, app, public_app, els):
    token = _launch(app, browser)["access_token"]
    # Nothing listens on port 9: a fetch of the IdP's keys for our own token would fail the request.
    with_idp = create_app(settings.with_(jwks_url="http://127.0.0.1:9/jwks.json"))
    assert _get(with_idp, token, "/fhir/CarePlan/plan-ma").status_code == 200
    forged = pyjwt.encode({**pyjwt.decode(token, options={"verify_signature": False})}, "a" * 32, algorithm="HS256",
                          headers={"kid": signing_key(settings).kid})
    assert _get(app, forged, "/fhir/CarePlan/plan-ma").status_code == 401
    with_idp.extensions["samenzorg.engine"].dispose()


def test_dev_tokens_still_work_beside_the_servers_own(app, mint, network):
    assert _get(app, mint("system/*.rs"), "/fhir/CarePlan/plan-ma").status_code == 200
