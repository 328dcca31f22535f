"""End to end: an unmodified fhirclient (PyPI) completes a SMART standalone launch against a served
gateway, with a real Chromium submitting the login, patient-picker and consent forms."""
from __future__ import annotations

import json
import time
import uuid

import jwt as pyjwt
import live
import pytest
from fhirclient import client as fhirclient
from joserfc.jwk import KeySet, RSAKey
from fhirclient.models.careplan import CarePlan
from live import Callback, chromium
from processes import serving
from smart_helpers import PASSWORD

from gateway.oauth import admin

SCOPE = "openid fhirUser patient/*.rs offline_access"


@pytest.fixture
def served(settings, network, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SAMENZORG_DATABASE_URL": settings.database_url,
           "SAMENZORG_VAR_DIR": settings.var_dir, "SAMENZORG_JWT_SECRET": settings.jwt_secret,
           "SAMENZORG_LOG_LEVEL": "INFO"}
    with serving(env, tmp_path, "--workers", "1", "--threads", "4") as base:
        yield base


def _launch(page, smart, callback, *, pick: str | None, sign_in: bool):
    """Drive the browser from the app's authorize URL to its redirect URI; returns the callback URL."""
    page.goto(smart.authorize_url)
    if sign_in:
        page.fill("#username", "els")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
    page.wait_for_selector("#app-name")
    assert page.inner_text("#app-name") == "Familieportaal"
    if pick:
        page.get_by_label(pick).check()
    page.click("button[value=approve]")
    return callback.wait()


def test_fhirclient_launches_standalone_and_reads_the_daughters_care_plans_for_each_parent(
        settings, served, els):
    with Callback() as callback, chromium() as page:
        admin.add_client(settings, name="Familieportaal", redirect_uris=[callback.url], public=True,
                         client_id="familieportaal")
        seen = {}
        for parent, patient_id, sign_in in (("Anna Bosman", "ma", True), ("Jan Bosman", "pa", False)):
            smart = fhirclient.FHIRClient(settings={"app_id": "familieportaal", "api_base": f"{served}/fhir",
                                                    "redirect_uri": callback.url, "scope": SCOPE})
            url = _launch(page, smart, callback, pick=parent, sign_in=sign_in)
            smart.handle_callback(url)
            assert smart.ready and smart.patient_id == patient_id
            assert smart.server.auth.refresh_token  # offline_access
            plans = CarePlan.where({"patient": smart.patient_id}).perform_resources_iter(smart.server)
            seen[patient_id] = sorted(p.id for p in plans)
            # The other parent's plan is not there for this launch, even by id.
            other = "plan-pa" if patient_id == "ma" else "plan-ma"
            resp = smart.server.session.get(f"{served}/fhir/CarePlan/{other}",
                                            headers={"Authorization": f"Bearer {smart.server.auth.access_token}"})
            assert resp.status_code == 404
            # offline_access: the app refreshes (the refresh token rotates) and reads on with the new token
            old_refresh = smart.server.auth.refresh_token
            assert smart.reauthorize() and smart.patient_id == patient_id
            assert smart.server.auth.refresh_token != old_refresh
            assert [p.id for p in CarePlan.where({"patient": patient_id}).perform_resources_iter(smart.server)] \
                == seen[patient_id]
        assert seen == {"ma": ["plan-ma"], "pa": ["plan-pa"]}


def test_fhirclient_gets_a_backend_services_token_with_a_signed_assertion(settings, served, tmp_path):
    key = RSAKey.generate_key(2048, parameters={"kid": "ecd-1", "alg": "RS384", "use": "sig"})
    jwks = tmp_path / "ecd-jwks.json"
    jwks.write_text(json.dumps(KeySet([key]).as_dict(private=False)))
    admin.add_client(settings, name="ECD", redirect_uris=[], jwks_file=jwks, scope="system/*.rs", client_id="ecd")
    now = int(time.time())
    assertion = pyjwt.encode({"iss": "ecd", "sub": "ecd", "aud": f"{served}/oauth/token", "exp": now + 240,
                              "jti": uuid.uuid4().hex}, key.as_pem(private=True), algorithm="RS384",
                             headers={"kid": "ecd-1"})
    smart = fhirclient.FHIRClient(settings={"app_id": "ecd", "api_base": f"{served}/fhir", "jwt_token": assertion,
                                            "scope": "system/*.rs"})
    smart.prepare()  # reads the CapabilityStatement's oauth-uris
    smart.authorize()
    assert smart.ready
    plans = sorted(p.id for p in CarePlan.where({}).perform_resources_iter(smart.server))
    assert plans == ["plan-ma", "plan-pa"]


def test_a_missing_chromium_fails_the_browser_tests_with_how_to_install_it(monkeypatch):
    monkeypatch.setattr(live, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(live.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        with live.chromium():
            pass
