"""The portal signs people in through Samenzorg's own SMART login, as any portal would: discovery,
authorization code + PKCE (S256) with state, Samenzorg's login and consent pages in the browser,
the code exchange, a refresh when the access token has expired, and sign-out with revocation."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from gateway.oauth.demo import DEMO_PASSWORD, ensure_demo_logins

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "networks"

SCOPES = ("openid fhirUser launch/patient offline_access patient/*.rs patient/Communication.c "
          "patient/Consent.cru")


def _sign_in_on_samenzorg(portal, username="marieke"):
    """The person clicks "Aanmelden", signs in on Samenzorg's login page and approves the portal."""
    portal.page.click("#sign-in")
    portal.page.wait_for_selector("#username")
    portal.page.fill("#username", username)
    portal.page.fill("#password", DEMO_PASSWORD)
    portal.page.click("button[type=submit]")
    portal.page.wait_for_selector("#app-name")
    portal.page.click("button[value=approve]")


@pytest.fixture
def demo_logins(settings, live):
    """The demo app and logins, as `make run` makes them, for this live server's portal page."""
    ensure_demo_logins(settings, DEMO, [f"{live.base}/portal/"])


def test_the_daughter_signs_in_through_samenzorgs_smart_login_with_pkce_and_reads_her_mothers_network(
        open_portal, demo, live, demo_logins):
    pid = demo.patient("Hendriks")
    marieke = f"RelatedPerson/{demo.person(pid, 'Marieke')}"
    portal = open_portal()
    sent = {}
    portal.page.on("request", lambda r: sent.update(
        {k: v[0] for k, v in parse_qs(urlsplit(r.url).query).items()}) if "/oauth/authorize?" in r.url else None)
    portal.open("")
    _sign_in_on_samenzorg(portal)
    portal.settled("network")
    assert "Kees Bosman" in portal.page.inner_text("#network")
    assert "code=" not in portal.page.url  # the code does not stay in the address bar

    assert sent["response_type"] == "code" and sent["client_id"] == "familieportaal"
    assert sent["redirect_uri"] == f"{live.base}/portal/"
    assert sent["code_challenge_method"] == "S256" and len(sent["state"]) >= 16
    assert sent["scope"] == SCOPES and sent["aud"] == f"{live.base}/fhir"
    session = json.loads(portal.page.evaluate("sessionStorage.getItem('samenzorg.session')"))
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["fhirUser"].endswith(marieke) and claims["patient"] == session["patient"] == pid
    assert claims["iss"] == f"{live.base}/fhir" and session["refresh_token"]  # offline_access

    portal.page.click("#sign-out")
    portal.settled("sign-in")
    refused = requests.post(f"{live.base}/oauth/token", timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": session["refresh_token"], "client_id": "familieportaal"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"  # revoked at sign-out


def test_an_expired_access_token_is_renewed_with_the_refresh_token_from_samenzorgs_login(
        open_portal, demo, live, demo_logins):
    portal = open_portal()
    portal.open("")
    _sign_in_on_samenzorg(portal)
    portal.settled("network")
    session = json.loads(portal.page.evaluate("sessionStorage.getItem('samenzorg.session')"))
    first_refresh = session["refresh_token"]
    session["received_at"] -= 7200  # the access token is past its lifetime: the portal must refresh first
    session["access_token"] = demo.token(f"RelatedPerson/{demo.person(session['patient'], 'Marieke')}",
                                         session["patient"], ttl=-600)
    portal.page.evaluate("s => sessionStorage.setItem('samenzorg.session', s)", json.dumps(session))
    portal.page.goto(f"{live.base}/portal/#/afspraken")
    portal.settled("agreements")
    assert "Herinneren aan avondmedicatie" in portal.page.inner_text("#agreements")
    renewed = json.loads(portal.page.evaluate("sessionStorage.getItem('samenzorg.session')"))
    assert renewed["refresh_token"] != first_refresh  # rotated by the token endpoint


def test_a_return_with_another_state_is_refused(open_portal, live):
    portal = open_portal()
    portal.open("")
    portal.page.evaluate("sessionStorage.setItem('samenzorg.login', JSON.stringify({state: 'mine', verifier: 'v', "
                         "token_endpoint: '/oauth/token', client_id: 'familieportaal'}))")
    portal.page.goto(f"{live.base}/portal/?code=stolen&state=theirs")
    portal.settled("sign-in")
    assert "Het aanmelden is niet gelukt (state)" in portal.page.inner_text("#alert")
    assert portal.page.evaluate("sessionStorage.getItem('samenzorg.session')") is None


def test_a_fhir_server_whose_discovery_offers_no_login_gets_a_plain_message(open_portal, live):
    # A FHIR server without an authorization server (discovery without its endpoints): said plainly.
    portal = open_portal()

    def without_login(route):
        body = route.fetch().json()
        for key in ("authorization_endpoint", "token_endpoint"):
            body.pop(key, None)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    portal.page.route(f"{live.base}/fhir/.well-known/smart-configuration", without_login)
    portal.open("")
    portal.page.click("#sign-in")
    portal.page.wait_for_selector("#alert:not(:empty)")
    assert "Aanmelden is op deze server nog niet ingericht" in portal.page.inner_text("#alert")
