"""Bearer tokens and SMART scopes at the door (roles and consent have their own tests)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway import create_app

H = {"Content-Type": "application/fhir+json"}


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _outcome(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_no_token_is_401_with_www_authenticate(anonymous):
    resp = anonymous.get("/fhir/Patient/1")
    _outcome(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_metadata_and_smart_configuration_need_no_token(anonymous):
    assert anonymous.get("/fhir/metadata").status_code == 200
    resp = anonymous.get("/fhir/.well-known/smart-configuration")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "permission-v2" in resp.get_json()["capabilities"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer not.a.jwt", "Token abc"])
def test_malformed_authorization_is_401(anonymous, header):
    _outcome(anonymous.get("/fhir/Patient", headers={"Authorization": header}), 401)


def test_expired_and_not_yet_valid_tokens_are_401(anonymous, mint):
    _outcome(anonymous.get("/fhir/Patient/x", headers=_bearer(mint("system/*.cruds", ttl=-120))), 401)
    now = int(time.time())
    future = jwt.encode({"sub": "x", "scope": "system/*.cruds", "nbf": now + 600, "exp": now + 900},
                        "test-only-secret-not-for-production", algorithm="HS256")
    _outcome(anonymous.get("/fhir/Patient/x", headers=_bearer(future)), 401)


def test_token_signed_with_another_secret_is_401(anonymous):
    forged = jwt.encode({"sub": "x", "scope": "system/*.cruds", "exp": int(time.time()) + 60},
                        "a-guessed-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    _outcome(anonymous.get("/fhir/Patient/x", headers=_bearer(forged)), 401)


def test_token_without_exp_is_401(anonymous):
    token = jwt.encode({"sub": "x", "scope": "system/*.cruds"}, "test-only-secret-not-for-production",
                       algorithm="HS256")
    _outcome(anonymous.get("/fhir/Patient/x", headers=_bearer(token)), 401)


def test_issuer_and_audience_are_checked_when_configured(settings):
    from gateway.auth import mint

    strict = settings.with_(jwt_issuer="https://login.zorg.example", jwt_audience="samenzorg")
    app = create_app(strict)
    client = app.test_client()
    good = mint(strict, scope="system/*.cruds")
    assert client.get("/fhir/Patient/x", headers=_bearer(good)).status_code == 404
    other = mint(settings.with_(jwt_issuer="https://evil.example", jwt_audience="samenzorg"), scope="system/*.cruds")
    _outcome(client.get("/fhir/Patient/x", headers=_bearer(other)), 401)
    no_aud = mint(settings.with_(jwt_issuer="https://login.zorg.example"), scope="system/*.cruds")
    _outcome(client.get("/fhir/Patient/x", headers=_bearer(no_aud)), 401)
    app.extensions["samenzorg.engine"].dispose()


def test_read_only_scope_cannot_write(anonymous, mint, patient):
    token = mint("system/*.rs")
    resp = anonymous.post("/fhir/Patient", json=patient(), headers={**H, **_bearer(token)})
    _outcome(resp, 403)


def test_scope_for_one_type_does_not_reach_another(client, anonymous, mint, patient):
    pid = client.post("/fhir/Patient", json=patient(), headers=H).get_json()["id"]
    token = mint("system/Organization.cruds")
    _outcome(anonymous.get(f"/fhir/Patient/{pid}", headers=_bearer(token)), 403)
    assert anonymous.post("/fhir/Organization", json={"resourceType": "Organization", "name": "Zorg"},
                          headers={**H, **_bearer(token)}).status_code == 201


def test_v1_scopes_are_understood(client, anonymous, mint, patient):
    pid = client.post("/fhir/Patient", json=patient(), headers=H).get_json()["id"]
    assert anonymous.get(f"/fhir/Patient/{pid}", headers=_bearer(mint("system/Patient.read"))).status_code == 200
    _outcome(anonymous.delete(f"/fhir/Patient/{pid}", headers=_bearer(mint("system/Patient.read"))), 403)
    assert anonymous.delete(f"/fhir/Patient/{pid}", headers=_bearer(mint("system/*.write"))).status_code == 204


def test_a_person_token_cannot_carry_system_scopes(anonymous, mint):
    token = mint("system/*.cruds", fhir_user="RelatedPerson/1")
    _outcome(anonymous.get("/fhir/Patient/x", headers=_bearer(token)), 403)


def test_system_history_lists_only_types_the_scopes_allow(client, anonymous, mint, patient):
    client.post("/fhir/Patient", json=patient(), headers=H)
    client.post("/fhir/Organization", json={"resourceType": "Organization", "name": "Zorg"}, headers=H)
    bundle = anonymous.get("/fhir/_history", headers=_bearer(mint("system/Organization.rs"))).get_json()
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Organization"]


class _Jwks(BaseHTTPRequestHandler):
    body = b"{}"
    hits = 0

    def do_GET(self):
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    _Jwks.body = json.dumps({"keys": [jwk]}).encode()
    _Jwks.hits = 0
    server = HTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield key, f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()


def test_rs256_tokens_verify_against_a_jwks_url_fetched_once(settings, jwks_server):
    key, url = jwks_server
    app = create_app(settings.with_(jwks_url=url))
    client = app.test_client()
    now = int(time.time())
    token = jwt.encode({"sub": "ecd", "scope": "system/*.cruds", "exp": now + 60}, key, algorithm="RS256",
                       headers={"kid": "k1"})
    for _ in range(3):
        assert client.get("/fhir/Patient/x", headers=_bearer(token)).status_code == 404
    assert _Jwks.hits == 1
    hs = jwt.encode({"sub": "ecd", "scope": "system/*.cruds", "exp": now + 60}, settings.jwt_secret, algorithm="HS256")
    _outcome(client.get("/fhir/Patient/x", headers=_bearer(hs)), 401)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"sub": "ecd", "scope": "system/*.cruds", "exp": now + 60}, other_key, algorithm="RS256",
                        headers={"kid": "k1"})
    _outcome(client.get("/fhir/Patient/x", headers=_bearer(forged)), 401)
    app.extensions["samenzorg.engine"].dispose()


def test_cli_token_mints_a_token_the_server_accepts(settings, anonymous, monkeypatch, capsys):
    from gateway.cli import main

    monkeypatch.setenv("SAMENZORG_JWT_SECRET", settings.jwt_secret)
    assert main(["token", "--system", "--scope", "system/*.rs"]) == 0
    token = capsys.readouterr().out.strip()
    assert anonymous.get("/fhir/Patient/nope", headers=_bearer(token)).status_code == 404


def test_cors_answers_only_configured_origins(settings, mint):
    app = create_app(settings.with_(cors_origins="https://portaal.example.nl"))
    client = app.test_client()
    pre = client.options("/fhir/Patient", headers={"Origin": "https://portaal.example.nl",
                                                   "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://portaal.example.nl"
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
    resp = client.get("/fhir/Patient", headers={"Origin": "https://portaal.example.nl",
                                                "Authorization": f"Bearer {mint('system/*.rs')}"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://portaal.example.nl"
    assert "Location" in resp.headers["Access-Control-Expose-Headers"]
    other = client.get("/fhir/metadata", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert client.get("/fhir/metadata").get_json()["rest"][0]["security"]["cors"] is True
    app.extensions["samenzorg.engine"].dispose()


def test_no_cors_headers_unless_configured(anonymous):
    resp = anonymous.get("/fhir/metadata", headers={"Origin": "https://portaal.example.nl"})
    assert "Access-Control-Allow-Origin" not in resp.headers
