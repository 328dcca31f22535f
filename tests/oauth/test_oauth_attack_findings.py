"""Findings of the attack on the SMART authorization server (B2, ...; the numbering continues
tests/gateway/test_attack_findings_2.py), through HTTP; each failed before its fix."""
import base64

import pytest


# B2: Authlib's Basic parser raised on "Basic " with nothing after it and on credentials that are
# not UTF-8: a 500 (and a FHIR OperationOutcome) at the token, revocation and introspection endpoints.
@pytest.mark.parametrize("header", ["Basic ", "Basic \t", "Bearer ", "Basic " + base64.b64encode(b"\xff:\xff").decode()])
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_a_malformed_basic_authorization_header_is_an_rfc6749_invalid_client_not_a_500(
        app, confidential_app, path, header):
    resp = app.test_client().post(path, data={"grant_type": "client_credentials", "token": "x"},
                                  headers={"Authorization": header})
    assert resp.status_code == 401, resp.get_data()[:300]
    assert resp.get_json()["error"] == "invalid_client"


# B3: after rotation, the old refresh token presented again was refused, but the chain it was
# rotated into lived on: whoever copied a refresh token and used it first kept the client's record
# for 30 days. Reuse now ends the whole chain (RFC 9700 §4.14.2), as code reuse already did.
def test_a_rotated_out_refresh_token_presented_again_ends_the_whole_chain(app, browser, public_app,
                                                                          confidential_app, els):
    from test_grants import _introspect, _person_tokens, _read_as, _refresh

    first = _person_tokens(app, browser)
    thief = _refresh(app, first["refresh_token"]).get_json()
    again = _refresh(app, first["refresh_token"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    refused = _refresh(app, thief["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert _introspect(app, thief["access_token"])["active"] is False


def test_a_refresh_chain_of_another_authorization_lives_on_when_one_chain_is_ended(app, browser, public_app, els):
    from test_grants import _person_tokens, _refresh

    first = _person_tokens(app, browser)
    other = _person_tokens(app, browser)
    _refresh(app, first["refresh_token"])
    _refresh(app, first["refresh_token"])
    assert _refresh(app, other["refresh_token"]).status_code == 200
