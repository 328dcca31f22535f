"""Findings of the attack on the SMART authorization server (B2, ...; the numbering continues
tests/gateway/test_attack_findings_2.py), through HTTP; each failed before its fix."""
import base64

import pytest
from test_grants import jwt_app, rsa_key  # noqa: F401 (fixtures)


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


# B6: sign-in throttling checked the count of failures, then checked the password (slow, by
# design), then recorded the failure: guesses sent together all passed the check before any was
# counted, so a botnet of one could try any number of passwords per window. An attempt is now
# recorded before the password is checked.
def test_concurrent_wrong_passwords_get_no_more_than_five_checks_per_user(app, browser, els):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from smart_helpers import csrf_of

    from gateway.oauth.login import MAX_FAILURES_PER_USER

    server = app.extensions["samenzorg.oauth"]
    real = server.authenticator
    # Every guess that reaches the password check waits there until one more than the limit have
    # reached it (or, when no more can, gives up waiting): so all of them are checked at once.
    together = threading.Barrier(MAX_FAILURES_PER_USER + 1, timeout=5)
    checked = []

    class Waiting:
        def authenticate(self, request):
            checked.append(1)
            try:
                together.wait()
            except threading.BrokenBarrierError:
                pass
            return real.authenticate(request)

    server.authenticator = Waiting()
    guesses = 2 * (MAX_FAILURES_PER_USER + 1)
    browsers = [app.test_client() for _ in range(guesses)]
    forms = [csrf_of(b.get("/oauth/login").get_data(as_text=True)) for b in browsers]

    def guess(i):
        return browsers[i].post("/oauth/login", data={"csrf_token": forms[i], "username": "els",
                                                      "password": f"guess {i}", "next": "/oauth/apps"}).status_code

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        codes = list(pool.map(guess, range(guesses)))
    assert len(checked) <= MAX_FAILURES_PER_USER, codes
    assert codes.count(401) <= MAX_FAILURES_PER_USER and set(codes) <= {401, 429}


def test_a_right_password_after_some_wrong_ones_signs_in_and_forgives_them(browser, els):
    from smart_helpers import sign_in

    for _ in range(4):
        assert sign_in(browser, password="wrong password").status_code == 401
    assert sign_in(browser).status_code == 303
    for _ in range(5):
        assert sign_in(browser, password="wrong password").status_code == 401
    assert sign_in(browser).status_code == 429


# B7: a client assertion's `iss|jti` was stored cut to the column's 255 characters but looked up
# whole, so a replayed assertion with a long jti was not found, and only the primary key stopped it:
# an IntegrityError, a 500 instead of invalid_client (the same for two concurrent uses of one
# assertion on PostgreSQL). Now kept by digest, and a concurrent duplicate is a replay.
def test_a_client_assertion_with_a_long_jti_is_accepted_once(app, jwt_app, rsa_key):
    from test_grants import ASSERTION_TYPE, _assertion

    data = {"grant_type": "client_credentials", "scope": "system/*.rs", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(rsa_key, jti="j" * 300)}
    assert app.test_client().post("/oauth/token", data=data).status_code == 200
    replay = app.test_client().post("/oauth/token", data=data)
    assert replay.status_code in (400, 401) and replay.get_json()["error"] == "invalid_client"


# An unknown path, a body over the limit or a method not served under /oauth/ was answered as a
# FHIR OperationOutcome; an OAuth client reads RFC 6749 JSON errors there.
@pytest.mark.parametrize("method, path, body, status", [
    ("get", "/oauth/nothing-here", None, 404),
    ("post", "/oauth/token", b"grant_type=client_credentials&x=" + b"a" * (9 * 1024 * 1024), 413),
    ("put", "/oauth/jwks", None, 405),
])
def test_an_http_error_under_oauth_is_an_rfc6749_json_error(app, method, path, body, status):
    resp = getattr(app.test_client(), method)(path, data=body, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == status
    assert resp.mimetype == "application/json" and resp.headers["Cache-Control"] == "no-store"
    error = resp.get_json()
    assert error["error"] == "invalid_request" and error["error_description"]
    assert "resourceType" not in error
