"""The consent screen and remembered approvals: Dutch by default, English on request; an approval is
remembered per user and app until the person (apps page) or an administrator (CLI) withdraws it."""
from __future__ import annotations

from smart_helpers import PASSWORD, REDIRECT, authorize_query, csrf_of, identity_values, pkce, redirect_params, sign_in

from gateway.cli import main
from gateway.oauth import admin


def _approve(browser, query, parent="Anna Bosman"):
    html = browser.get(query).get_data(as_text=True)
    ident = identity_values(html).get(parent)
    data = {"csrf_token": csrf_of(html), "decision": "approve"}
    if ident:
        data["identity"] = ident
    return browser.post(query, data=data)


def test_the_consent_screen_names_the_app_its_scopes_in_words_and_the_clients_in_dutch(browser, public_app, els):
    query = authorize_query(public_app, pkce()[1], scope="openid fhirUser launch/patient patient/CarePlan.rs")
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    assert '<html lang="nl">' in html and "Familieportaal" in html and "Toestaan" in html
    assert "Zorgafspraken: lezen en zoeken" in html and "Weten voor welke cliënt u dit doet" in html
    assert "Anna Bosman" in html and "Jan Bosman" in html and "Voor wie?" in html


def test_the_consent_screen_speaks_english_when_asked(browser, public_app, els):
    query = authorize_query(public_app, pkce()[1], scope="openid patient/CarePlan.rs launch/patient", lang="en")
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    assert '<html lang="en">' in html and "Allow" in html and "Care plans: read and search" in html
    assert "For whom?" in html


def test_approving_without_picking_a_client_asks_again(browser, public_app, els):
    query = authorize_query(public_app, pkce()[1])
    sign_in(browser, next_url=query)
    html = browser.get(query).get_data(as_text=True)
    resp = browser.post(query, data={"csrf_token": csrf_of(html), "decision": "approve"})
    assert resp.status_code == 400 and "Kies voor wie" in resp.get_data(as_text=True)


def test_a_remembered_approval_skips_the_screen_for_a_person_with_one_client_until_withdrawn_on_the_apps_page(
        settings, browser, public_app, network):
    admin.add_user(settings, "kees", "Kees", PASSWORD)
    admin.link_user(settings, "kees", "RelatedPerson/els-pa", label="Jan Bosman")
    query = authorize_query(public_app, pkce()[1])
    sign_in(browser, username="kees", next_url=query)
    first = browser.get(query)
    assert first.status_code == 200 and "Jan Bosman" in first.get_data(as_text=True)
    assert "code" in redirect_params(_approve(browser, query, "Jan Bosman"))
    again = redirect_params(browser.get(authorize_query(public_app, pkce()[1], state="st-2")))
    assert again["state"] == "st-2" and again["code"]  # no screen: remembered
    apps = browser.get("/oauth/apps").get_data(as_text=True)
    assert "Familieportaal" in apps
    browser.post("/oauth/apps/revoke", data={"csrf_token": csrf_of(apps), "client_id": "portal"})
    assert "Familieportaal" not in browser.get("/oauth/apps").get_data(as_text=True)
    assert browser.get(authorize_query(public_app, pkce()[1], state="st-3")).status_code == 200  # asked again


def test_asking_for_more_than_was_approved_shows_the_screen_again(settings, browser, public_app, network):
    admin.add_user(settings, "kees", "Kees", PASSWORD)
    admin.link_user(settings, "kees", "RelatedPerson/els-pa")
    query = authorize_query(public_app, pkce()[1], scope="openid patient/CarePlan.rs")
    sign_in(browser, username="kees", next_url=query)
    redirect_params(_approve(browser, query, "Jan Bosman"))
    wider_query = authorize_query(public_app, pkce()[1], scope="openid patient/*.rs")
    wider = browser.get(wider_query)
    assert wider.status_code == 200 and "Toestaan" in wider.get_data(as_text=True)
    redirect_params(_approve(browser, wider_query, "Jan Bosman"))
    apps = browser.get("/oauth/apps").get_data(as_text=True)
    assert apps.count("<h2>Familieportaal</h2>") == 1  # one app, one approval to withdraw


def test_withdrawing_an_approval_by_cli_also_revokes_the_apps_refresh_tokens(app, settings, browser, public_app, els,
                                                                            monkeypatch, capsys):
    verifier, challenge = pkce()
    query = authorize_query(public_app, challenge)
    sign_in(browser, next_url=query)
    code = redirect_params(_approve(browser, query))["code"]
    tokens = app.test_client().post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": "portal",
        "code_verifier": verifier}).get_json()
    monkeypatch.setenv("SAMENZORG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAMENZORG_VAR_DIR", settings.var_dir)
    assert main(["user", "apps", "els"]) == 0
    assert "portal\tFamilieportaal" in capsys.readouterr().out
    assert main(["user", "apps", "els", "--revoke", "portal"]) == 0
    assert "portal\tFamilieportaal" not in capsys.readouterr().out
    refused = app.test_client().post("/oauth/token", data={"grant_type": "refresh_token", "client_id": "portal",
                                                           "refresh_token": tokens["refresh_token"]})
    assert refused.get_json()["error"] == "invalid_grant"


def test_a_disabled_user_cannot_sign_in_and_their_refresh_tokens_stop_working(app, settings, browser, public_app, els):
    admin.disable_user(settings, "els")
    assert sign_in(browser).status_code == 401
    admin.disable_user(settings, "els", disabled=False)
    assert sign_in(browser).status_code == 303


def test_a_user_without_a_linked_identity_is_told_so(settings, browser, public_app, network):
    admin.add_user(settings, "nobody", "Niemand", PASSWORD)
    query = authorize_query(public_app, pkce()[1])
    sign_in(browser, username="nobody", next_url=query)
    resp = browser.get(query)
    assert resp.status_code == 403 and "niet gekoppeld" in resp.get_data(as_text=True)


def test_the_login_step_is_one_interface_that_another_login_can_replace(app, browser, els):
    from gateway.oauth import store

    server = app.extensions["samenzorg.oauth"]

    class TrustedHeaderLogin:  # e.g. a national login in front of the gateway vouching for the person
        def authenticate(self, request):
            if request.headers.get("X-Test-Verified-User"):
                return store.get_user(server.engine, username=request.headers["X-Test-Verified-User"])
            return None

    server.authenticator = TrustedHeaderLogin()
    page = browser.get("/oauth/login")
    resp = browser.post("/oauth/login", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": "x",
                                              "password": "not checked", "next": "/oauth/apps"},
                        headers={"X-Test-Verified-User": "els"})
    assert resp.status_code == 303
    assert "Els Bosman" in browser.get("/oauth/apps").get_data(as_text=True)
