"""'Wie ziet wat': the client and their legal representative decide who sees what, in a real
Chromium against a live gateway (demo networks A and B)."""
from __future__ import annotations


def test_client_switches_off_the_neighbours_agreements_and_his_next_page_load_shows_none(open_portal, demo):
    pid = demo.patient("Hendriks")
    kees = demo.person(pid, "Kees")
    consent_before = demo.get(f"Consent?patient={pid}&identifier=DEEL-1002")["entry"][0]["resource"]

    client = open_portal()
    client.sign_in_as(demo.token(f"Patient/{pid}", pid), pid, hash_="#/wie-ziet-wat")
    page = client.page
    page.click(f"#view-as-{kees}")
    page.wait_for_selector(f"#preview-{kees} ul")
    assert "2 afspraken: Boodschappen doen, Samen wandelen naar de markt" in page.inner_text(f"#preview-{kees}")
    switch = page.locator(f"#s-{kees}-own-agreements")
    assert switch.is_checked()
    switch.uncheck()
    # Before saving, the server says exactly what Kees would see with the change: nothing.
    page.wait_for_selector(f"#pending-{kees} [data-types]")
    pending = page.inner_text(f"#pending-{kees}")
    assert "Nog niet opgeslagen" in pending and "ziet dan niet meer: Eigen afspraken" in pending
    assert "Kees ziet niets van uw zorg" in pending
    assert "2 afspraken" in page.inner_text(f"#preview-{kees}")  # what he sees now, until it is saved
    assert demo.get(f"Consent/{consent_before['id']}")["meta"]["versionId"] == "1"
    page.click(f"#save-{kees}")
    page.wait_for_selector(f"#saved-{kees}.ok")
    page.wait_for_selector(f"#preview-{kees} p[data-types='']")
    assert "Kees ziet niets van uw zorg" in page.inner_text(f"#preview-{kees}")

    # A new version of the same Consent: the page never invents a second truth.
    consents = demo.get(f"Consent?patient={pid}")["entry"]
    about_kees = [e["resource"] for e in consents if f"RelatedPerson/{kees}" in str(e["resource"]["provision"])
                  or e["resource"]["id"] == consent_before["id"]]
    assert [c["id"] for c in about_kees] == [consent_before["id"]]
    assert about_kees[0]["meta"]["versionId"] == "2"
    assert about_kees[0]["performer"] == [{"reference": f"Patient/{pid}"}]
    assert len(consents) == 2

    neighbour = open_portal()
    neighbour.sign_in_as(demo.token(f"RelatedPerson/{kees}", pid), pid, hash_="#/afspraken")
    assert neighbour.page.locator("#agreements-none").is_visible()
    assert not neighbour.received("Boodschappen doen")

    # Sharing nothing still leaves the Consent his: the next change is version 3 of the same one.
    client.open("#/wie-ziet-wat")
    assert not page.locator(f"#s-{kees}-own-agreements").is_checked()
    page.locator(f"#s-{kees}-own-agreements").check()
    page.click(f"#save-{kees}")
    page.wait_for_selector(f"#saved-{kees}.ok")
    assert demo.get(f"Consent/{consent_before['id']}")["meta"]["versionId"] == "3"
    assert len(demo.get(f"Consent?patient={pid}")["entry"]) == 2


def test_a_change_made_meanwhile_is_not_overwritten(open_portal, demo, live):
    import json

    import requests

    pid = demo.patient("Hendriks")
    kees = demo.person(pid, "Kees")
    client = open_portal()
    client.sign_in_as(demo.token(f"Patient/{pid}", pid), pid, hash_="#/wie-ziet-wat")
    consent = demo.get(f"Consent?patient={pid}&identifier=DEEL-1002")["entry"][0]["resource"]
    consent["dateTime"] = "2026-11-01T10:00:00+01:00"  # the care organisation's ECD records something
    resp = requests.put(f"{live.base}/fhir/Consent/{consent['id']}", data=json.dumps(consent),
                        headers={**demo.system, "Content-Type": "application/fhir+json"}, timeout=30)
    assert resp.status_code == 200
    client.page.locator(f"#s-{kees}-logbook").check()
    client.page.wait_for_selector(f"#pending-{kees} [data-types]")
    assert "4 logboekberichten" in client.page.inner_text(f"#pending-{kees}")
    client.page.click(f"#save-{kees}")
    client.page.wait_for_selector(f"#saved-{kees}.notice")
    assert "Iemand anders heeft dit net gewijzigd" in client.page.inner_text(f"#saved-{kees}")
    assert demo.get(f"Consent/{consent['id']}")["meta"]["versionId"] == "2"  # not overwritten


def test_the_main_family_carer_who_is_no_representative_has_no_wie_ziet_wat_and_the_mentor_has(open_portal, demo):
    pid = demo.patient("Jansen")
    henk = demo.person(pid, "Henk")
    annelies = demo.person(pid, "Annelies")
    wim = demo.person(pid, "Wim")

    brother = open_portal()
    brother.sign_in_as(demo.token(f"RelatedPerson/{henk}", pid), pid)
    assert not brother.page.locator("#nav-sharing").is_visible()
    brother.open("#/wie-ziet-wat")
    assert "Alleen de cliënt en de wettelijk vertegenwoordiger" in brother.page.inner_text("#sharing-not-yours")
    assert brother.page.locator("input[type=checkbox]").count() == 0
    assert not any("$access-preview" in u or "/fhir/AuditEvent" in u for u in brother.requests)

    mentor = open_portal()
    mentor.sign_in_as(demo.token(f"RelatedPerson/{annelies}", pid), pid)
    assert mentor.page.locator("#nav-sharing").is_visible()
    mentor.open("#/wie-ziet-wat")
    assert mentor.page.locator(f"#s-{henk}-logbook").is_checked()
    assert mentor.page.locator(f"#s-{wim}-care-team").is_checked()
    assert not mentor.page.locator(f"#s-{wim}-logbook").is_checked()
    assert "wettelijk vertegenwoordiger en ziet alles" in mentor.page.inner_text(f"#person-{annelies}")


def test_who_looked_lists_the_carers_visits_in_words(open_portal, demo):
    pid = demo.patient("Hendriks")
    kees = demo.person(pid, "Kees")
    neighbour = open_portal()
    neighbour.sign_in_as(demo.token(f"RelatedPerson/{kees}", pid), pid, hash_="#/afspraken")
    nurse = demo.get("PractitionerRole?identifier=MDW-3101")["entry"][0]["resource"]["practitioner"]["reference"]
    demo.get(f"CarePlan?subject={pid}", headers={"Authorization": f"Bearer {demo.token(nurse, None, scope='user/*.rs')}",
                                                  "Accept": "application/fhir+json"})
    client = open_portal()
    client.sign_in_as(demo.token(f"Patient/{pid}", pid), pid, hash_="#/wie-ziet-wat")
    looked = client.page.inner_text("#who-looked")
    assert "Kees Bosman zocht in afspraken" in looked
    assert "Sanne de Groot zocht in afspraken" in looked
    assert "Johanna" not in looked  # her own visits are not listed as someone else's


def test_the_mentor_shares_the_logbook_with_the_friend_and_his_next_page_load_shows_it(open_portal, demo):
    pid = demo.patient("Jansen")
    annelies = demo.person(pid, "Annelies")
    wim = demo.person(pid, "Wim")
    friend = open_portal()
    friend.sign_in_as(demo.token(f"RelatedPerson/{wim}", pid), pid, hash_="#/logboek")
    assert friend.page.locator("#logbook-not-shared").is_visible()

    mentor = open_portal()
    mentor.sign_in_as(demo.token(f"RelatedPerson/{annelies}", pid), pid, hash_="#/wie-ziet-wat")
    mentor.page.locator(f"#s-{wim}-logbook").check()
    mentor.page.wait_for_selector(f"#pending-{wim} [data-types]")
    assert "logboek" in mentor.page.inner_text(f"#pending-{wim}")
    mentor.page.click(f"#save-{wim}")
    mentor.page.wait_for_selector(f"#saved-{wim}.ok")
    consent = demo.get(f"Consent?patient={pid}&identifier=DEEL-Z-02")["entry"][0]["resource"]
    assert consent["meta"]["versionId"] == "2"
    assert consent["performer"] == [{"reference": f"RelatedPerson/{annelies}"}]  # who decided, this time

    friend.open("#/logboek")
    assert friend.page.locator("#logbook li").count() >= 1
    assert friend.page.locator("#logbook-not-shared").count() == 0
