from smart_helpers import authorize_query, csrf_of, identity_values, pkce, redirect_params, sign_in, REDIRECT


def test_a_daughter_signs_in_picks_her_mother_and_the_app_reads_only_her_mothers_care_plan(
        app, browser, public_app, els):
    verifier, challenge = pkce()
    query = authorize_query(public_app, challenge)
    resp = browser.get(query)
    assert resp.status_code == 303 and "/oauth/login" in resp.headers["Location"]
    assert sign_in(browser, next_url=query).status_code == 303
    page = browser.get(query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    picks = identity_values(html)
    assert set(picks) == {"Anna Bosman", "Jan Bosman"}
    resp = browser.post(query, data={"csrf_token": csrf_of(html), "decision": "approve",
                                     "identity": picks["Anna Bosman"]})
    params = redirect_params(resp)
    assert params["state"] == "st-1"
    token = app.test_client().post("/oauth/token", data={
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT,
        "client_id": public_app, "code_verifier": verifier})
    body = token.get_json()
    assert token.status_code == 200, body
    assert body["patient"] == "ma" and "refresh_token" in body and "id_token" in body
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {body['access_token']}"
    plans = api.get("/fhir/CarePlan").get_json()
    assert [e["resource"]["id"] for e in plans.get("entry", [])] == ["plan-ma"], plans
