"""Ready-made tokens for the demo networks, printed by `samenzorg serve --demo`.

For each of the first two demo networks: the client, every member (informal
carers by their role, professionals by discipline) and a system client, so a
portal developer can call the API as the daughter or the neighbour at once.
"""
from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import select

from .auth import mint
from .config import Settings
from .search import match
from .storage.db import make_engine
from .storage.tables import resources

DEMO_TTL = 12 * 3600
_INFORMAL = {"01": "first contact person", "100001": "mantelzorger", "19": "neighbour", "20": "friend",
             "15": "mentor (legal representative)", "03": "curator", "24": "legal representative"}


def _member_label(member: dict) -> str:
    name = " ".join([*member["name"].get("given", []), member["name"].get("family", "")]).strip()
    roles = [_INFORMAL[r] for r in member.get("roles", []) if r in _INFORMAL]
    if member["kind"] == "professional":
        roles = [member.get("discipline") or "professional"]
    return f"{name} ({', '.join(roles) or member.get('relationship') or 'member'})"


def _find(conn, rtype: str, identifier: str) -> str | None:
    """The resource an ECD id names; for a professional, the Practitioner behind their PractitionerRole."""
    if rtype == "Practitioner":
        roles = match(conn, "PractitionerRole", [("identifier", identifier)])
        if len(roles) != 1:
            return None
        row = conn.execute(select(resources.c.body).where(resources.c.res_type == "PractitionerRole",
                                                          resources.c.res_id == roles[0])).first()
        return (orjson.loads(row.body).get("practitioner") or {}).get("reference")
    found = match(conn, rtype, [("identifier", identifier)])
    return f"{rtype}/{found[0]}" if len(found) == 1 else None


def demo_tokens(settings: Settings, directory: Path, networks: int = 2) -> list[tuple[str, str, str]]:
    """(label, fhirUser, token) for the people of the first demo networks."""
    out = [("system client (ECD)", "-", mint(settings, scope="system/*.cruds", ttl=DEMO_TTL, client_id="demo-ecd"))]
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            for path in sorted(directory.glob("*.json"))[:networks]:
                doc = orjson.loads(path.read_bytes())
                base = doc["source"]["system"]
                people = [("Patient", "client", doc["client"]["id"], f"{path.stem}: client")]
                for m in doc["members"]:
                    if m["kind"] == "informal":
                        people.append(("RelatedPerson", "member", m["id"], f"{path.stem}: {_member_label(m)}"))
                    else:
                        people.append(("Practitioner", "member", m["id"], f"{path.stem}: {_member_label(m)}"))
                for rtype, kind, ecd_id, label in people:
                    user = _find(conn, rtype, f"{base}/member|{ecd_id}" if rtype == "Practitioner"
                                 else f"{base}/{kind}|{ecd_id}")
                    if user:
                        out.append((label, user, mint(settings, scope="user/*.cruds", fhir_user=user, ttl=DEMO_TTL,
                                                      client_id="demo-portal")))
    finally:
        engine.dispose()
    return out
