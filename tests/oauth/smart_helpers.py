"""Shared pieces of the authorization-server tests: a two-parent network, PKCE, and a signed-in
browser session driven through Flask's test client (the live-server tests use Chromium)."""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from fhir_builders import actor, classes, consent, put_all

COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
REDIRECT = "http://127.0.0.1:9/callback"
PASSWORD = "correct horse battery"


def _rp(rid, patient):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": f"Patient/{patient}"},
            "name": [{"given": ["Els"], "family": "Bosman"}],
            "relationship": [{"coding": [{"system": COD472, "code": "01"}]}]}


# Els cares for both parents: her mother Anna (Patient/ma) and her father Jan (Patient/pa). Each
# parent's Consent lets her own RelatedPerson for that parent read the care plans.
NETWORK = [
    {"resourceType": "Patient", "id": "ma", "name": [{"given": ["Anna"], "family": "Bosman"}]},
    {"resourceType": "Patient", "id": "pa", "name": [{"given": ["Jan"], "family": "Bosman"}]},
    _rp("els-ma", "ma"), _rp("els-pa", "pa"),
    {"resourceType": "CarePlan", "id": "plan-ma", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/ma"}, "title": "Zorgplan Anna"},
    {"resourceType": "CarePlan", "id": "plan-pa", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/pa"}, "title": "Zorgplan Jan"},
    consent("c-ma", "Patient/ma", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/els-ma")], "class": classes("CarePlan", "Patient")}]}),
    consent("c-pa", "Patient/pa", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/els-pa")], "class": classes("CarePlan", "Patient")}]}),
]


def load_network(client):
    put_all(client, NETWORK)


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_query(client_id, challenge, *, scope="openid fhirUser launch/patient patient/*.rs offline_access",
                    state="st-1", redirect_uri=REDIRECT, aud="http://localhost/fhir", **extra):
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": state, "aud": aud, "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(browser, username="els", password=PASSWORD, next_url="/oauth/apps"):
    page = browser.get("/oauth/login?" + urlencode({"next": next_url}))
    return browser.post("/oauth/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                              "username": username, "password": password, "next": next_url})


def redirect_params(resp) -> dict:
    assert resp.status_code == 302, (resp.status_code, resp.get_data(as_text=True)[:500])
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def identity_values(html: str) -> dict[str, str]:
    """{label: value} of the patient picker's radio buttons."""
    return {label.strip(): value for value, label in
            re.findall(r'name="identity" value="(\d+)"> ([^<]+)</label>', html)}
