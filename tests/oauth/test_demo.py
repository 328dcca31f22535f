"""`samenzorg serve --demo` signs people in too: a demo portal app and a login per demo person."""
from __future__ import annotations

from gateway.cli import DEMO_DIR
from gateway.loading import load_demo_if_empty
from gateway.oauth import store
from gateway.oauth.demo import DEMO_PASSWORD, PORTAL_SCOPES, demo_redirect_uris, ensure_demo_logins
from gateway.oauth.models import verify_secret
from gateway.storage.db import make_engine


def test_the_demo_daughter_of_two_parents_is_one_login_linked_to_a_related_person_of_each(settings, app):
    load_demo_if_empty(settings, DEMO_DIR)
    uris = demo_redirect_uris("127.0.0.1", 8080)
    assert uris == ["http://127.0.0.1:8080/portal/", "http://localhost:8080/portal/"]
    logins = dict(ensure_demo_logins(settings, DEMO_DIR, uris))
    assert ensure_demo_logins(settings, DEMO_DIR, uris) == list(logins.items())  # a second start adds nothing
    engine = make_engine(settings.database_url)
    try:
        marieke = store.get_user(engine, username="marieke")
        assert verify_secret(marieke.password_hash, DEMO_PASSWORD)
        links = store.links(engine, marieke.id)
        assert [i.fhir_type for i in links] == ["RelatedPerson", "RelatedPerson"]
        assert {i.label for i in links} == {"Johanna Hendriks", "Willem Hendriks"}
        assert len({i.patient_id for i in links}) == 2
        client = store.get_client(engine, settings.portal_client_id)  # the family portal's public app
        assert client.public and client.redirect_uris == uris and client.scope == PORTAL_SCOPES
    finally:
        engine.dispose()
    assert {"kees", "annelies", "sanne", "johanna"} <= set(logins)
    ensure_demo_logins(settings, DEMO_DIR, demo_redirect_uris("127.0.0.1", 8081))  # served on another port
    engine = make_engine(settings.database_url)
    try:
        assert "http://127.0.0.1:8081/portal/" in store.get_client(engine, settings.portal_client_id).redirect_uris
    finally:
        engine.dispose()
