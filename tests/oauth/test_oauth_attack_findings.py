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
