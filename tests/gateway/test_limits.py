"""Stated limits are answers, not crashes: JSON depth, body size, request line and headers, version numbers."""
import base64
import json
import socket

import pytest
import requests
from processes import serving
from sqlalchemy import func, select

from gateway import create_app
from gateway.config import Settings
from gateway.limits import MAX_HEADER_FIELDS, MAX_JSON_DEPTH
from gateway.storage.tables import resource_history

H = {"Content-Type": "application/fhir+json"}


def _versions(app) -> int:
    with app.extensions["samenzorg.engine"].connect() as conn:
        return conn.execute(select(func.count()).select_from(resource_history)).scalar_one()


def _outcome(resp, status, code=None):
    assert resp.status_code == status, resp.data
    assert resp.headers["Content-Type"].startswith("application/fhir+json")
    issue = resp.get_json()["issue"][0]
    assert code is None or issue["code"] == code, issue
    return issue


def _nested_patient(depth: int) -> dict:
    """A Patient whose JSON nests exactly `depth` levels (objects and arrays), through extensions."""
    assert depth % 2 == 1
    ext = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range((depth - 3) // 2):
        ext = {"url": "http://example.org/x", "extension": [ext]}
    return {"resourceType": "Patient", "extension": [ext]}


def _depth(value) -> int:
    if isinstance(value, (dict, list)):
        children = value.values() if isinstance(value, dict) else value
        return 1 + max((_depth(c) for c in children), default=0)
    return 0


def test_json_nested_deeper_than_the_limit_is_400_and_stores_nothing(api, app):
    assert _depth(_nested_patient(MAX_JSON_DEPTH - 1)) == MAX_JSON_DEPTH - 1
    assert api.post("Patient", _nested_patient(MAX_JSON_DEPTH - 1)).status_code == 201  # the limit itself passes
    before = _versions(app)
    for depth in (MAX_JSON_DEPTH + 1, 401):  # 401: ~200 nested extensions, a RecursionError (500) before
        issue = _outcome(api.post("Patient", _nested_patient(depth)), 400, "too-long")
        assert str(MAX_JSON_DEPTH) in issue["diagnostics"]
    _outcome(api.client.post("/fhir/Patient", data=b"[" * 2000 + b"]" * 2000, headers=H), 400)  # past orjson's own
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": _nested_patient(MAX_JSON_DEPTH - 1), "request": {"method": "POST", "url": "Patient"}}]}
    _outcome(api.post("", bundle), 400, "too-long")  # the entry's depth counts from the Bundle
    assert _versions(app) == before


def test_a_patch_cannot_nest_a_resource_deeper_than_the_limit(api, client, app):
    pid = api.create(_nested_patient(MAX_JSON_DEPTH - 1))["id"]
    deep = _nested_patient(MAX_JSON_DEPTH - 5)["extension"]  # fits in a patch document, not in the resource
    ops = [{"op": "add", "path": "/extension/0/extension/0/extension/0/extension", "value": deep}]
    before = _versions(app)
    resp = client.patch(f"/fhir/Patient/{pid}", data=json.dumps(ops),
                        headers={"Content-Type": "application/json-patch+json"})
    assert "patched resource" in _outcome(resp, 400, "too-long")["diagnostics"]
    data = base64.b64encode(json.dumps(ops).encode()).decode()
    resp = api.post("", {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Binary", "data": data}, "request": {"method": "PATCH", "url": f"Patient/{pid}"}}]})
    assert "patched resource" in _outcome(resp, 400, "too-long")["diagnostics"]
    assert _versions(app) == before


@pytest.fixture
def small(settings, mint):
    """A server whose bodies may be 2000 bytes, and bundles and imports 6000."""
    app = create_app(settings.with_(max_body_bytes=2000, max_bundle_bytes=6000))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('system/*.cruds')}"
    yield app, client
    app.extensions["samenzorg.engine"].dispose()


def _padded(size: int) -> bytes:
    """A Patient of exactly `size` bytes."""
    shell = json.dumps({"resourceType": "Patient", "name": [{"text": ""}]}).encode()
    return shell.replace(b'"text": ""', b'"text": "' + b"a" * (size - len(shell)) + b'"')


def _bundle_of(size: int) -> bytes:
    entry = {"resource": {"resourceType": "Patient", "name": [{"text": "x"}]}, "request": {"method": "POST", "url": "Patient"}}
    shell = json.dumps({"resourceType": "Bundle", "type": "batch", "entry": [entry]}).encode()
    return shell.replace(b'"text": "x"', b'"text": "' + b"a" * (size - len(shell) + 1) + b'"')


def test_a_body_over_its_limit_is_413_naming_the_setting_and_stores_nothing(small):
    app, client = small
    assert client.post("/fhir/Patient", data=_padded(2000), headers=H).status_code == 201
    issue = _outcome(client.post("/fhir/Patient", data=_padded(2001), headers=H), 413, "too-costly")
    assert "SAMENZORG_MAX_BODY_BYTES" in issue["diagnostics"] and "2000" in issue["diagnostics"]
    assert client.post("/fhir", data=_bundle_of(6000), headers=H).status_code == 200  # a bundle may be larger
    assert client.post("/fhir/", data=_bundle_of(5000), headers=H).status_code == 200
    issue = _outcome(client.post("/fhir", data=_bundle_of(6001), headers=H), 413)
    assert "SAMENZORG_MAX_BUNDLE_BYTES" in issue["diagnostics"]
    _outcome(client.post("/fhir/$import-network", data=b" " * 6001, headers=H), 413)
    _outcome(client.post("/fhir/Patient/$everything", data=b" " * 2001, headers=H), 413)
    _outcome(client.put("/fhir/Patient/p", data=b" " * 2001, headers=H), 413)
    assert _versions(app) == 3  # the three that fit


def test_body_limits_are_settings_read_from_the_environment():
    settings = Settings.from_env({"SAMENZORG_MAX_BODY_BYTES": "1024", "SAMENZORG_MAX_BUNDLE_BYTES": "4096"},
                                 env_file="/nonexistent")
    assert (settings.max_body_bytes, settings.max_bundle_bytes) == (1024, 4096)
    assert Settings().max_body_bytes == 8 * 1024 * 1024 and Settings().max_bundle_bytes == 32 * 1024 * 1024
    for bad in ("8MiB", "-1", "0", "１２"):
        with pytest.raises(ValueError, match="SAMENZORG_MAX_BODY_BYTES"):
            Settings.from_env({"SAMENZORG_MAX_BODY_BYTES": bad}, env_file="/nonexistent")


def test_a_version_number_out_of_range_is_404_and_a_strange_etag_400(api, client, patient):
    pid = api.create(patient())["id"]
    for vid in ("99999999999999999999999", "2147483648", "9223372036854775808"):
        _outcome(api.get(f"Patient/{pid}/_history/{vid}"), 404)
    _outcome(api.get(f"Patient/nobody/_history/99999999999999999999999"), 404)
    resp = client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": pid},
                      headers={**H, "If-Match": 'W/"\xb2"'})  # a digit to str.isdigit, not to int()
    _outcome(resp, 400)
    _outcome(client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": pid, "gender": "male"},
                        headers={**H, "If-Match": 'W/"99999999999999999999999"'}), 412)


# -- through the real server --------------------------------------------------------------------------------------

@pytest.fixture
def live(database_url, tmp_path, settings):
    import os

    env = {**os.environ, "SAMENZORG_DATABASE_URL": database_url, "SAMENZORG_VAR_DIR": str(tmp_path / "var"),
           "SAMENZORG_LOG_LEVEL": "WARNING", "SAMENZORG_JWT_SECRET": settings.jwt_secret,
           "SAMENZORG_MAX_BODY_BYTES": "2000"}
    with serving(env, tmp_path, "--workers", "1") as base:
        yield base


def _raw(base: str, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are; return (status, headers, body) of the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _is_outcome(status, headers, body, expected):
    assert status == expected, body
    assert headers["content-type"].startswith("application/fhir+json")
    assert json.loads(body)["resourceType"] == "OperationOutcome"


def test_a_real_server_answers_oversized_request_lines_and_headers_with_an_operation_outcome(live, mint):
    token = mint("system/*.cruds")
    auth = {"Authorization": f"Bearer {token}"}
    long_url = requests.get(f"{live}/fhir/Patient?name={'a' * 20_000}", headers=auth, timeout=30)
    _is_outcome(long_url.status_code, long_url.headers, long_url.content, 414)
    big_header = requests.get(f"{live}/fhir/Patient", headers={**auth, "X-Padding": "a" * 20_000}, timeout=30)
    _is_outcome(big_header.status_code, big_header.headers, big_header.content, 431)
    many = {f"X-Field-{i}": "x" for i in range(MAX_HEADER_FIELDS + 1)}
    too_many = requests.get(f"{live}/fhir/Patient", headers={**auth, **many}, timeout=30)
    _is_outcome(too_many.status_code, too_many.headers, too_many.content, 431)
    fine = requests.get(f"{live}/fhir/Patient?name={'a' * 4000}", headers={**auth, "X-Padding": "a" * 8000}, timeout=30)
    assert fine.status_code == 200, fine.text


def test_a_real_server_refuses_a_body_over_its_limit_with_or_without_content_length(live, mint):
    token = mint("system/*.cruds")
    head = (f"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/fhir+json\r\nConnection: close\r\n")
    body = _padded(5000)
    _is_outcome(*_raw(live, (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body), 413)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000]) for i in range(0, len(body), 1000))
    status, headers, answer = _raw(live, (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked + b"0\r\n\r\n")
    _is_outcome(status, headers, answer, 413)
    assert "SAMENZORG_MAX_BODY_BYTES" in answer.decode()
    small = _padded(1500)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)
    status, _, answer = _raw(live, (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked)
    assert status == 201, answer
