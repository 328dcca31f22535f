"""The portal's SMART login code path: discovery, authorization code + PKCE (S256) with state,
the code exchange, refresh, and sign-out with revocation.

Samenzorg's own authorization server (issue 11) is not on this branch yet, so its three
endpoints are played by the test through Playwright's request interception, answering as
SMART App Launch 2.0 says; everything else (the gateway, its discovery document, the FHIR API
the portal then reads with the issued token) is the real server. The lead replaces this with
the full login browser test once the login lands.
"""
from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import parse_qs, urlsplit

SCOPES = ("openid fhirUser launch/patient offline_access patient/*.rs patient/Communication.c "
          "patient/Consent.cru")


class FakeAuthorizationServer:
    def __init__(self, page, base, issue_token):
        self.base = base
        self.issue_token = issue_token
        self.authorize_params = None
        self.token_forms = []
        self.revoked = []
        page.route(f"{base}/fhir/.well-known/smart-configuration", self.discovery)
        page.route(f"{base}/oauth/authorize*", self.authorize)
        page.route(f"{base}/oauth/token", self.token)
        page.route(f"{base}/oauth/revoke", self.revoke)

    def discovery(self, route):
        real = route.fetch().json()  # the gateway's own document, with the login's endpoints added
        real.update(authorization_endpoint=f"{self.base}/oauth/authorize", token_endpoint=f"{self.base}/oauth/token",
                    revocation_endpoint=f"{self.base}/oauth/revoke")
        route.fulfill(status=200, content_type="application/json", body=json.dumps(real))

    def authorize(self, route):
        self.authorize_params = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        state = self.authorize_params["state"]
        route.fulfill(status=302, headers={"Location": f"{self.base}/portal/?code=the-code&state={state}"})

    def token(self, route):
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        self.token_forms.append(form)
        if form.get("grant_type") == "authorization_code":
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            ok = (form.get("code") == "the-code" and challenge == self.authorize_params["code_challenge"]
                  and form.get("redirect_uri") == self.authorize_params["redirect_uri"])
        else:
            ok = form.get("grant_type") == "refresh_token" and form.get("refresh_token") == "refresh-1"
        if not ok:
            route.fulfill(status=400, content_type="application/json", body=json.dumps({"error": "invalid_grant"}))
            return
        route.fulfill(status=200, content_type="application/json", body=json.dumps(self.issue_token()))

    def revoke(self, route):
        self.revoked.append({k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}["token"])
        route.fulfill(status=200, body="")


def test_signing_in_uses_pkce_and_state_and_the_issued_token_reads_the_network(open_portal, demo, live):
    pid = demo.patient("Hendriks")
    marieke = f"RelatedPerson/{demo.person(pid, 'Marieke')}"
    portal = open_portal()
    token = lambda: {"access_token": demo.token(marieke, pid), "token_type": "Bearer",  # noqa: E731
                     "expires_in": 3600, "scope": SCOPES, "patient": pid, "refresh_token": "refresh-1",
                     "id_token": demo.token(marieke, pid)}
    auth = FakeAuthorizationServer(portal.page, live.base, token)
    portal.open("")
    portal.page.click("#sign-in")
    portal.settled("network")
    assert "Kees Bosman" in portal.page.inner_text("#network")

    sent = auth.authorize_params
    assert sent["response_type"] == "code" and sent["client_id"] == "familieportaal"
    assert sent["redirect_uri"] == f"{live.base}/portal/"
    assert sent["code_challenge_method"] == "S256" and len(sent["state"]) >= 16
    assert sent["scope"] == SCOPES and sent["aud"] == f"{live.base}/fhir"
    assert auth.token_forms[0]["grant_type"] == "authorization_code"
    assert "code=" not in portal.page.url  # the code does not stay in the address bar

    portal.page.click("#sign-out")
    portal.settled("sign-in")
    assert "refresh-1" in auth.revoked


def test_a_return_with_another_state_is_refused(open_portal, live):
    portal = open_portal()
    portal.open("")
    portal.page.evaluate("sessionStorage.setItem('samenzorg.login', JSON.stringify({state: 'mine', verifier: 'v', "
                         "token_endpoint: '/oauth/token', client_id: 'familieportaal'}))")
    portal.page.goto(f"{live.base}/portal/?code=stolen&state=theirs")
    portal.settled("sign-in")
    assert "Het aanmelden is niet gelukt (state)" in portal.page.inner_text("#alert")
    assert portal.page.evaluate("sessionStorage.getItem('samenzorg.session')") is None


def test_without_a_login_on_the_server_the_sign_in_page_says_so(open_portal):
    # The gateway's discovery on this branch has no authorization_endpoint yet: it says so plainly.
    portal = open_portal()
    portal.open("")
    portal.page.click("#sign-in")
    portal.page.wait_for_selector("#alert:not(:empty)")
    assert "Aanmelden is op deze server nog niet ingericht" in portal.page.inner_text("#alert")


def test_an_expired_access_token_is_renewed_with_the_refresh_token(open_portal, demo, live):
    pid = demo.patient("Hendriks")
    marieke = f"RelatedPerson/{demo.person(pid, 'Marieke')}"
    portal = open_portal()
    auth = FakeAuthorizationServer(portal.page, live.base, lambda: {
        "access_token": demo.token(marieke, pid), "token_type": "Bearer", "expires_in": 3600, "scope": SCOPES,
        "patient": pid})
    portal.open("")
    session = {"access_token": demo.token(marieke, pid, ttl=-600), "token_type": "Bearer", "expires_in": 3600,
               "scope": SCOPES, "patient": pid, "refresh_token": "refresh-1", "received_at": int(time.time()),
               "token_endpoint": f"{live.base}/oauth/token", "client_id": "familieportaal"}
    portal.page.evaluate("s => sessionStorage.setItem('samenzorg.session', s)", json.dumps(session))
    portal.page.goto(f"{live.base}/portal/#/afspraken")  # a same-document navigation: one page load
    portal.settled("agreements")
    assert [f["grant_type"] for f in auth.token_forms] == ["refresh_token"]
    assert "Herinneren aan avondmedicatie" in portal.page.inner_text("#agreements")
