"""End to end: an unmodified fhirclient (PyPI) completes a SMART standalone launch against a served
gateway, with a real Chromium submitting the login, patient-picker and consent forms."""
from __future__ import annotations

import pytest
from fhirclient import client as fhirclient
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
        assert seen == {"ma": ["plan-ma"], "pa": ["plan-pa"]}
