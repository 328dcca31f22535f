"""Demo sign-ins for `samenzorg serve --demo`: a public app for the family portal and a login for the
people of the demo networks, with one fixed DEMO password (demo data only, printed and documented).

Marieke Hendriks cares for her mother (network a) and her father (network g): one login, two
RelatedPerson links, so the patient picker shows both parents.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import orjson

from ..config import Settings
from ..demo import _find
from ..storage.db import make_engine
from . import store
from .models import hash_secret
from .scopes import DEFAULT_PERSON_SCOPES

DEMO_PASSWORD = "samenzorg-demo"  # demo data only; never for real people
# The family portal (/portal/) signs people in as this public app: its client id is the portal's
# (SAMENZORG_PORTAL_CLIENT_ID), its redirect URI the portal page itself, and it may ask what the portal
# asks (reading, writing logbook messages, the client's own Consent).
PORTAL_SCOPES = f"{DEFAULT_PERSON_SCOPES} patient/Communication.c patient/Consent.cru"
DEMO_NETWORKS = ("a-", "b-", "g-")  # the daughter of two parents, the mentor, and her father's network


def _name(name: dict) -> str:
    return " ".join([*name.get("given", []), name.get("family", "")]).strip()


def _username(name: dict) -> str:
    first = (name.get("given") or ["demo"])[0]
    return unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode().lower()


def demo_redirect_uris(host: str, port: int) -> list[str]:
    # The family portal lives under this server's /portal/; redirect URIs match exactly, so both names.
    hosts = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost", "0.0.0.0") else {host}
    return sorted(f"http://{h}:{port}/portal/" for h in hosts if h != "0.0.0.0")


def ensure_demo_logins(settings: Settings, directory: Path, redirect_uris: list[str]) -> list[tuple[str, list[str]]]:
    """Create (once) the demo app and demo users; returns (username, [what they are linked to])."""
    engine = make_engine(settings.database_url)
    try:
        client_id = settings.portal_client_id
        existing = store.get_client(engine, client_id)
        if existing is None:
            store.add_client(engine, client_id=client_id, name="Familieportaal (demo)", auth_method="none",
                             secret_hash=None, redirect_uris=redirect_uris, scope=PORTAL_SCOPES,
                             grant_types=["authorization_code", "refresh_token"])
        elif not set(redirect_uris) <= set(existing.redirect_uris):  # served on another port this time
            store.set_redirect_uris(engine, client_id, sorted(set(existing.redirect_uris) | set(redirect_uris)))
        people: dict[str, dict] = {}  # one login per person, by name, across networks
        with engine.connect() as conn:
            for path in sorted(directory.glob("*.json")):
                if not path.name.startswith(DEMO_NETWORKS):
                    continue
                doc = orjson.loads(path.read_bytes())
                base, client = doc["source"]["system"], doc["client"]
                patient = _find(conn, "Patient", f"{base}/client|{client['id']}")
                if patient is None:
                    continue
                patient_id, client_name = patient.partition("/")[2], _name(client["name"])
                entries = [(client["name"], patient, patient_id, client_name)]
                for m in doc["members"]:
                    if m["kind"] == "informal":
                        ref = _find(conn, "RelatedPerson", f"{base}/member|{m['id']}")
                        entries.append((m["name"], ref, patient_id, client_name))
                    else:
                        ref = _find(conn, "Practitioner", f"{base}/member|{m['id']}")
                        entries.append((m["name"], ref, None, f"{_name(m['name'])} ({m.get('discipline', '')})"))
                for name, ref, pid, label in entries:
                    if ref:
                        person = people.setdefault(_name(name), {"name": name, "links": []})
                        if ref not in [r for r, _, _ in person["links"]]:
                            person["links"].append((ref, pid, label))
        out = []
        password_hash = hash_secret(DEMO_PASSWORD)
        taken: set[str] = set()
        for full_name, person in people.items():
            username = _username(person["name"])
            if username in taken:
                username = f"{username}.{_username({'given': [person['name'].get('family', 'x')]})}"
            taken.add(username)
            user = store.get_user(engine, username=username)
            if user is None:
                uid = store.add_user(engine, username, password_hash, full_name)
                for ref, pid, label in person["links"]:
                    rtype, _, rid = ref.partition("/")
                    store.add_link(engine, uid, rtype, rid, pid, label)
            out.append((username, [f"{ref} ({label})" for ref, _, label in person["links"]]))
        return out
    finally:
        engine.dispose()
