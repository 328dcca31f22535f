"""The family portal as carers use it, in a real Chromium against a live gateway (demo network A:
Johanna Hendriks, her daughter Marieke and her neighbour Kees)."""
from __future__ import annotations

import json

import requests
from playwright.sync_api import expect



def test_daughter_sees_network_agreements_and_logbook_and_her_message_reaches_the_nurse(open_portal, demo):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid)

    network = portal.page.inner_text("#network")
    assert "Kees Bosman" in network and "buur" in network
    assert "Sanne de Groot" in network and "wijkverpleegkundige" in network
    assert "Pieter Mulder" in network and "huisarts" in network
    assert "Ingrid Wolters" in network and "casemanager" in network
    first = portal.page.locator("#network li", has_text="Marieke Hendriks")
    assert "Eerste contactpersoon" in first.inner_text() and "06-41327789" in first.inner_text()

    portal.open("#/afspraken")
    assert "Herinneren aan avondmedicatie" in portal.page.inner_text("#my-week")
    assert "Boodschappen doen" in portal.page.inner_text("#agreements")

    portal.open("#/logboek")
    items = portal.page.locator("#logbook li")
    assert items.count() == 4
    assert "Netwerkoverleg gehad met Marieke" in items.nth(0).inner_text()  # newest first
    assert "Ingrid Wolters" in items.nth(0).inner_text()
    portal.page.fill("#message", "Moeder at vanavond goed. Morgen bel ik de huisarts over de blauwe plek.")
    portal.page.select_option("#topic", "meals")
    portal.page.click("#send")
    portal.page.wait_for_selector("#write-feedback.ok")
    portal.settled("logbook")
    assert "Moeder at vanavond goed" in portal.page.locator("#logbook li").nth(0).inner_text()

    # The district nurse's record system reads it through the API, with Marieke as the sender.
    nurse = demo.get(f"PractitionerRole?identifier=MDW-3101")["entry"][0]["resource"]["practitioner"]["reference"]
    token = demo.token(nurse, None, scope="user/*.rs")
    found = demo.get(f"Communication?subject={pid}&_sort=-sent&_count=1",
                     headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})
    message = found["entry"][0]["resource"]
    assert message["payload"][0]["contentString"].startswith("Moeder at vanavond goed")
    assert message["sender"]["reference"] == f"RelatedPerson/{marieke}"


def test_neighbour_sees_only_his_own_agreements_and_is_told_the_rest_is_not_shared(open_portal, demo):
    pid = demo.patient("Hendriks")
    kees = demo.person(pid, "Kees")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{kees}", pid), pid, hash_="#/afspraken")

    agreements = portal.page.inner_text("#agreements")
    assert "Boodschappen doen" in agreements and "Samen wandelen naar de markt" in agreements
    assert "Herinneren aan avondmedicatie" not in portal.page.inner_text("main")
    assert "zaterdag" in portal.page.inner_text("#my-week")

    portal.open("#/logboek")
    assert "deelt het logboek niet met u" in portal.page.inner_text("#logbook-not-shared")
    assert "niet afgesproken dat u in het logboek schrijft" in portal.page.inner_text("#cannot-write")
    assert portal.page.locator("#message").count() == 0  # nothing to type into and lose

    portal.open("#/netwerk")
    assert "deelt het netwerk" in portal.page.inner_text("#network-not-shared")

    # What is not shared with him never reached his browser: not shown, and never fetched.
    for secret in ("Herinneren aan avondmedicatie", "blauwe plek", "Netwerkoverleg gehad", "06-41327789",
                   "Johanna", "Zwolseweg"):
        assert not portal.received(secret), secret
    fetched = [u for u in portal.requests if "/fhir/" in u]
    assert not any("/fhir/Communication" in u or "/fhir/CareTeam" in u or "/fhir/Patient/" in u for u in fetched), fetched


def test_a_carer_refused_on_posting_keeps_his_text_and_reads_why(open_portal, demo, live):
    # The Consent changes between the page load and the post: the server's 403 is put in words.
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid, hash_="#/logboek")
    consent = demo.get(f"Consent?patient={pid}&identifier=DEEL-1001")["entry"][0]["resource"]
    consent["provision"]["provision"] = [p for p in consent["provision"]["provision"]
                                         if p["action"][0]["coding"][0]["code"] != "contribute"]
    resp = requests.put(f"{live.base}/fhir/Consent/{consent['id']}", data=json.dumps(consent),
                        headers={**demo.system, "Content-Type": "application/fhir+json"}, timeout=30)
    assert resp.status_code == 200, resp.text
    portal.page.fill("#message", "Dit bericht mag niet geplaatst worden.")
    portal.page.click("#send")
    portal.page.wait_for_selector("#write-feedback.notice")
    assert "staat niet toe dat u in het logboek schrijft" in portal.page.inner_text("#write-feedback")
    assert portal.page.input_value("#message") == "Dit bericht mag niet geplaatst worden."


def test_an_expired_session_returns_to_sign_in_and_keeps_what_was_typed(open_portal, demo):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid, hash_="#/logboek")
    portal.page.fill("#message", "Halverwege getypt toen de sessie verliep")
    # The session runs out: its token is now one the server refuses as expired (no refresh token).
    expired = demo.token(f"RelatedPerson/{marieke}", pid, ttl=-600)
    portal.page.evaluate("""t => { const s = JSON.parse(sessionStorage.getItem('samenzorg.session'));
                                   s.access_token = t; sessionStorage.setItem('samenzorg.session', JSON.stringify(s)); }""",
                         expired)
    portal.page.click("#send")
    portal.settled("sign-in")
    assert "sessie is verlopen" in portal.page.inner_text("#notice")
    assert portal.page.locator("#sign-in").is_visible()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid, hash_="#/logboek")
    assert portal.page.input_value("#message") == "Halverwege getypt toen de sessie verliep"


def test_a_server_that_is_down_gets_a_clear_message(open_portal, demo, live):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid)
    live.stop()
    portal.page.click("#nav-logbook")
    portal.settled("server-down")
    assert "niet bereikbaar" in portal.page.inner_text("#alert")
    assert portal.page.locator("#retry").is_visible()


def test_english_can_be_chosen_and_is_kept(open_portal, demo):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid, hash_="#/afspraken")
    portal.page.select_option("#language", "en")
    portal.page.wait_for_selector("main[data-page='agreements'] h1:text('Agreements')")
    assert portal.page.get_attribute("html", "lang") == "en"
    assert portal.page.inner_text("#nav-logbook") == "Logbook"
    assert "every day, at 18:00" in portal.page.inner_text("#agreements")
    portal.open("#/logboek")
    assert portal.page.inner_text("main h1") == "Logbook"


def test_signing_out_forgets_the_session_and_says_so(open_portal, demo):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid)
    portal.page.click("#sign-out")
    portal.settled("sign-in")
    assert "afgemeld" in portal.page.inner_text("#notice")
    assert portal.page.evaluate("sessionStorage.getItem('samenzorg.session')") is None
    portal.open("#/logboek")
    assert portal.page.locator("#sign-in").is_visible()


def test_the_logbook_pages_by_the_bundles_next_link_newest_first(open_portal, demo, live):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    nurse_role = demo.one("PractitionerRole?identifier=MDW-3101")
    for day in range(1, 12):  # 11 more messages: 15 in all, pages of 10
        message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": f"Patient/{pid}"},
                   "sender": {"reference": f"PractitionerRole/{nurse_role}"}, "sent": f"2026-11-{19 + day % 11:02d}T09:{day:02d}:00+01:00",
                   "payload": [{"contentString": f"Ronde {day}"}]}
        resp = requests.post(f"{live.base}/fhir/Communication", data=json.dumps(message),
                             headers={**demo.system, "Content-Type": "application/fhir+json"}, timeout=30)
        assert resp.status_code == 201, resp.text
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid, hash_="#/logboek")
    assert portal.page.locator("#logbook li").count() == 10
    portal.page.click("#older")
    expect(portal.page.locator("#logbook li")).to_have_count(15)  # (wait_for_function would need unsafe-eval)
    times = portal.page.eval_on_selector_all("#logbook li time", "ts => ts.map(t => Date.parse(t.dateTime))")
    assert times == sorted(times, reverse=True)  # newest first across both pages
    assert "Boodschappen gedaan" in portal.page.locator("#logbook li").nth(14).inner_text()  # the oldest, last
    assert portal.page.locator("#older").count() == 0
    assert portal.page.evaluate("document.activeElement.closest('#logbook li') !== null")  # focus on the new page


def test_a_token_that_may_not_ask_about_consent_still_gets_the_filtered_pages(open_portal, demo):
    # Scopes without Consent read: $evaluate is refused, so the portal tries and the server filters.
    pid = demo.patient("Hendriks")
    kees = demo.person(pid, "Kees")
    portal = open_portal()
    scope = "openid fhirUser patient/CarePlan.rs patient/Communication.rs patient/RelatedPerson.rs"
    portal.sign_in_as(demo.token(f"RelatedPerson/{kees}", pid, scope=scope), pid, hash_="#/afspraken")
    assert "Boodschappen doen" in portal.page.inner_text("#agreements")
    portal.open("#/logboek")
    assert "nog geen berichten" in portal.page.inner_text("#logbook")  # nothing he may see
    assert portal.page.locator("#cannot-write").is_visible()  # no Communication.c in his scopes
    assert not portal.received("blauwe plek")
