"""Every error is an OperationOutcome with the right status; bad input changes nothing."""
import logging

from sqlalchemy import func, select

from gateway.storage.tables import resource_history


def _outcome(resp, status):
    assert resp.status_code == status, resp.data
    assert resp.headers["Content-Type"].startswith("application/fhir+json")
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"]
    return body


def _versions(app) -> int:
    with app.extensions["samenzorg.engine"].connect() as conn:
        return conn.execute(select(func.count()).select_from(resource_history)).scalar_one()


def test_unknown_type_is_404(api):
    _outcome(api.get("Observation/1"), 404)
    _outcome(api.get("Spaceship"), 404)


def test_unknown_id_is_404(api):
    _outcome(api.get("Patient/nobody"), 404)


def test_method_not_allowed_is_405_with_allow(client):
    resp = client.delete("/fhir/metadata")
    _outcome(resp, 405)
    assert resp.headers["Allow"] == "GET"


def test_xml_is_not_acceptable(api):
    _outcome(api.get("metadata", Accept="application/fhir+xml"), 406)
    _outcome(api.get("metadata?_format=xml"), 406)
    assert api.get("metadata", Accept="application/json").status_code == 200
    assert api.get("metadata", Accept="text/html, */*;q=0.1").status_code == 200


def test_a_body_that_is_not_json_is_415_or_400(client, app):
    resp = client.post("/fhir/Patient", data="<Patient/>", headers={"Content-Type": "application/fhir+xml"})
    _outcome(resp, 415)
    resp = client.post("/fhir/Patient", data="{not json", headers={"Content-Type": "application/fhir+json"})
    _outcome(resp, 400)
    resp = client.post("/fhir/Patient", data="", headers={"Content-Type": "application/fhir+json"})
    _outcome(resp, 400)
    assert _versions(app) == 0


def test_invalid_resource_is_422_naming_each_element(api, app):
    resp = api.post("Patient", {"resourceType": "Patient", "birthDate": "12-04-1938", "colour": "blue",
                                "name": [{"given": []}]})
    body = _outcome(resp, 422)
    paths = {e for issue in body["issue"] for e in issue.get("expression", [])}
    assert {"Patient.birthDate", "Patient.colour", "Patient.name[0].given"} <= paths
    assert _versions(app) == 0


def test_invalid_update_leaves_the_stored_version_alone(api, app, patient):
    created = api.create(patient())
    resp = api.put(f"Patient/{created['id']}", {**created, "active": "sometimes"})
    _outcome(resp, 422)
    assert api.get(f"Patient/{created['id']}").get_json() == created
    assert _versions(app) == 1


def test_resource_without_resource_type_is_400(api):
    _outcome(api.post("Patient", {"name": [{"family": "X"}]}), 400)
    _outcome(api.post("Patient", ["not", "an", "object"]), 400)


def test_malformed_etag_is_400(api, patient):
    created = api.create(patient())
    _outcome(api.put(f"Patient/{created['id']}", created, **{"If-Match": "version-one"}), 400)


def test_unexpected_failure_is_500_without_a_stack_trace(app, client, monkeypatch, caplog):
    # A fault hard to cause for real: a handler that breaks.
    from gateway import routes

    def broken(ctx, req):
        raise RuntimeError("secret internal detail")

    original = routes.resolve
    monkeypatch.setattr("gateway.app.resolve", lambda m, p: (broken, {}, "capabilities") if p == "metadata" else original(m, p))
    with caplog.at_level(logging.ERROR, logger="samenzorg"):
        resp = client.get("/fhir/metadata")
    body = _outcome(resp, 500)
    assert "secret internal detail" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    assert resp.headers["X-Request-ID"] in body["issue"][0]["diagnostics"]
    assert "secret internal detail" in caplog.text


def test_healthz_reports_the_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok", "database": "ok"}


def test_each_request_logs_one_line_without_body_or_token(client, caplog, patient, mint):
    token = mint("system/*.cruds")
    with caplog.at_level(logging.INFO, logger="samenzorg.request"):
        client.post("/fhir/Patient", json=patient(family="Geheimnaam"),
                    headers={"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}",
                             "X-Request-ID": "req-42"})
    lines = [r.getMessage() for r in caplog.records if r.name == "samenzorg.request"]
    assert len(lines) == 1
    assert '"request_id":"req-42"' in lines[0] and '"status":201' in lines[0] and '"duration_ms"' in lines[0]
    assert "Geheimnaam" not in lines[0] and token not in lines[0]


def test_an_oversized_body_is_413_and_stores_nothing(settings, mint):
    from gateway import create_app

    app = create_app(settings.with_(max_body_bytes=1024))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('system/*.cruds')}"
    resp = client.post("/fhir/Patient", data=b'{"resourceType": "Patient", "x": "' + b"a" * 4096 + b'"}',
                       headers={"Content-Type": "application/fhir+json"})
    _outcome(resp, 413)
    assert resp.get_json()["issue"][0]["code"] == "too-costly"
    assert _versions(app) == 0
    app.extensions["samenzorg.engine"].dispose()
