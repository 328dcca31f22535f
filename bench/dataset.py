"""A seeded, realistic dataset: one care-network document per client, mapped to FHIR by `mappings`.

Client i's document depends only on (seed, i), so a run can be repeated and
any client rebuilt on its own. Organisations and professionals come from
shared pools (a district nurse works in many networks); `shared_bundle`
holds them once, so they can be stored before the networks load in parallel.

Per client: the Patient, 1-4 informal members (RelatedPerson), 1-3
professionals (PractitionerRole, Practitioner shared), the CareTeam, 1-3
Goals, 2-4 agreements (CarePlan), 12-28 logbook entries (Communication)
and a sharing choice (Consent) of one of several shapes per informal
member: everything, the logbook only, own agreements only, the care team
and goals, revoked, expired, or none at all.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from mappings import network_to_fhir

SOURCE = "https://ecd.bench.example/id"
GIVEN = ["Anna", "Johanna", "Maria", "Cornelia", "Wilhelmina", "Hendrik", "Jan", "Gerrit", "Kees", "Petra",
         "Marieke", "Sanne", "Pieter", "Ingrid", "Bram", "Femke", "Joost", "Lotte", "Ahmed", "Fatima", "Ruud"]
FAMILY = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
          "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Yilmaz"]
CITIES = ["Deventer", "Zwolle", "Apeldoorn", "Zutphen", "Enschede", "Hengelo", "Almelo", "Raalte"]
DISCIPLINES = ["wijkverpleegkundige", "huisarts", "casemanager-dementie", "verzorgende-ig", "fysiotherapeut",
               "praktijkondersteuner", "specialist-ouderengeneeskunde"]
TASKS = [("Boodschappen doen", "shopping"), ("Samen wandelen", "company"), ("Herinneren aan medicatie",
         "medication-reminder"), ("Warme maaltijd brengen", "meals"), ("Rijden naar het ziekenhuis", "transport"),
         ("Post en administratie", "administration"), ("Even langs om te kijken", "supervision"),
         ("Huishoudelijke hulp", "household"), ("Ochtendzorg", "personal-care")]
GOALS = ["Mevrouw woont zo lang mogelijk veilig thuis.", "Neemt elke avond de medicatie in.",
         "Komt elke week buiten en heeft sociaal contact.", "Eet elke dag een warme maaltijd.",
         "De mantelzorgers raken niet overbelast."]
LOG_TEXTS = ["Boodschappen gedaan, goed gemutst.", "Avondmedicatie ingenomen, weinig gegeten.",
             "Samen naar de markt gelopen, ging wat langzamer dan vorige week.",
             "Bij de ochtendzorg een blauwe plek op de arm gezien; huisarts geinformeerd.",
             "Netwerkoverleg gehad; dagbesteding twee dagen per week aangevraagd.",
             "Vanmiddag onrustig, vroeg steeds naar haar zus.", "Post doorgenomen, rekening van de thuiszorg betaald.",
             "Afspraak bij de geriater staat op donderdag om 10:00."]
TOPICS = ["observation", "wellbeing", "meals", "medication", "appointment", "handover", "other"]
INFORMAL = [  # (relationship, roles, chance)
    ("DAUC", ["01", "100001"]), ("SONC", ["02", "100001"]), ("WIFE", ["06", "100001"]),
    (None, ["19"]), (None, ["20"]), (None, ["volunteer"]),
]
# Sharing shapes: (name, parts, status, period end); weights below.
FULL = ["care-team", "agreements", "goals", "logbook", "contribute-logbook"]
SHAPES = [("full", FULL, "active", None), ("logbook", ["logbook", "contribute-logbook"], "active", None),
          ("own-agreements", ["own-agreements"], "active", None), ("team-goals", ["care-team", "goals"], "active", None),
          ("revoked", FULL, "revoked", None), ("expired", ["logbook"], "active", "2026-06-30"), ("none", None, None, None)]
SHAPE_WEIGHTS = [30, 20, 15, 10, 5, 5, 15]
ORG_POOL = 12


@dataclass
class Carer:
    """An informal member whose sharing choice is in force: what the carer may see."""
    member: str
    parts: frozenset
    careplans: list[str]  # agreement ids the carer may see


@dataclass
class Client:
    index: int
    document: dict
    carers: list[Carer] = field(default_factory=list)


class Bsns:
    """bsn(n) for many n without rescanning: the valid numbers, in order, made once."""

    def __init__(self):
        self._made: list[str] = []
        self._prefix = 99900000

    def __getitem__(self, n: int) -> str:
        while len(self._made) <= n:
            digits = [int(c) for c in str(self._prefix)]
            last = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
            if last < 10:
                self._made.append(f"{self._prefix}{last}")
            self._prefix += 1
        return self._made[n]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def organizations() -> list[dict]:
    return [{"id": f"ORG-{k:03d}", "name": f"Thuiszorg {name}", "agb": f"7575{k:04d}"}
            for k, name in enumerate(["De IJssellinde", "Het Anker", "Salland", "Twente", "De Zorgzame Buur",
                                      "Rivierenland", "Veluwezoom", "De Berkel", "Regge", "Vecht", "Sallandse Heuvels",
                                      "Vrijwilligers Samen"][:ORG_POOL])]


def professionals(clients: int, seed: int) -> list[dict]:
    """The professionals' pool: about one per 10 clients (a caseload), each with a fixed BIG number."""
    rng = random.Random(f"{seed}-pros")
    out = []
    for k in range(max(5, clients // 10)):
        out.append({"kind": "professional", "name": {"given": [rng.choice(GIVEN)], "family": rng.choice(FAMILY)},
                    "discipline": rng.choice(DISCIPLINES), "big": str(19_000_000_000 + k),
                    "organization": f"ORG-{rng.randrange(ORG_POOL - 1):03d}"})
    return out


def client(i: int, clients: int, seed: int, bsns: Bsns | None = None, marker: str | None = None) -> Client:
    """Client i's network document and its carers. `marker` replaces the ECD ids' suffix (for templates)."""
    rng = random.Random(f"{seed}-{i}")
    key = marker or f"{i:06d}"
    pros = professionals(clients, seed)
    members: list[dict] = []
    for k, (relationship, roles) in enumerate(rng.sample(INFORMAL, rng.choice([1, 2, 2, 2, 3, 3, 4]))):
        m = {"id": f"REL-{key}-{k}", "kind": "informal",
             "name": {"given": [rng.choice(GIVEN)], "family": rng.choice(FAMILY)}, "roles": roles,
             "telecom": [{"system": "phone", "value": f"06-{_digits(rng, 8)}", "use": "mobile"}]}
        if relationship:
            m["relationship"] = relationship
        if "volunteer" in roles:
            m["organization"] = f"ORG-{ORG_POOL - 1:03d}"
        members.append(m)
    mentor = None
    if rng.random() < 0.1:
        mentor = f"REL-{key}-mentor"
        members.append({"id": mentor, "kind": "informal", "name": {"given": [rng.choice(GIVEN)],
                                                                 "family": rng.choice(FAMILY)}, "roles": ["15"]})
    informal = [m["id"] for m in members if m["id"] != mentor]
    professional = []
    for k, pro in enumerate(rng.sample(pros, min(len(pros), rng.choice([1, 2, 2, 3])))):
        member_id = f"MDW-{key}-{k}"
        members.append({**pro, "id": member_id, "roles": ["PRF"] if k else ["PRF", "coordinator"]})
        professional.append(member_id)
    goals = [{"id": f"DOEL-{key}-{k}", "description": text, "start": "2026-01-05"}
             for k, text in enumerate(rng.sample(GOALS, rng.randint(1, 3)))]
    agreements = []
    for k, (activity, category) in enumerate(rng.sample(TASKS, rng.randint(2, 4))):
        performer = rng.choice(informal if rng.random() < 0.7 else professional)
        agreements.append({"id": f"AFS-{key}-{k}", "activity": activity, "category": category,
                           "performers": [performer], "goals": [rng.choice(goals)["id"]],
                           "timing": {"repeat": {"dayOfWeek": [rng.choice(["mon", "wed", "sat"])], "frequency": 1,
                                                 "period": 1, "periodUnit": "wk", "timeOfDay": ["10:00"]}},
                           "period": {"start": "2026-01-15"}, "status": "active" if rng.random() < 0.85 else "completed"})
    logbook = []
    for k in range(rng.randint(12, 28)):
        day, hour = 1 + (k * 11) % 300, 8 + rng.randrange(12)
        entry = {"id": f"LOG-{key}-{k}", "author": rng.choice(informal + professional + ["client"]),
                 "time": f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{hour:02d}:{rng.randrange(60):02d}:00+01:00",
                 "text": rng.choice(LOG_TEXTS), "topic": rng.choice(TOPICS)}
        if rng.random() < 0.5:
            entry["agreement"] = rng.choice(agreements)["id"]
        logbook.append(entry)
    sharing, carers = [], []
    performs = {p: [a["id"] for a in agreements if p in a["performers"]] for p in informal}
    for k, member in enumerate(informal):
        name, parts, status, end = rng.choices(SHAPES, SHAPE_WEIGHTS)[0]
        if name == "own-agreements" and not performs[member]:
            name, parts, status, end = SHAPES[3]
        if parts is None:
            continue
        period = {"start": "2026-01-15", **({"end": end} if end else {})}
        sharing.append({"id": f"DEEL-{key}-{k}", "member": member, "parts": parts, "period": period,
                        "decidedBy": mentor or "client", "recordedAt": "2026-01-15T11:00:00+01:00",
                        "recordedBy": professional[0], "status": status})
        if status == "active" and not end:
            seen = [a["id"] for a in agreements] if "agreements" in parts else \
                performs[member] if "own-agreements" in parts else []
            carers.append(Carer(member, frozenset(parts), seen))
    used_orgs = {m["organization"] for m in members if m.get("organization")}
    managing = f"ORG-{rng.randrange(ORG_POOL - 1):03d}"
    used_orgs.add(managing)
    document = {
        "source": {"system": SOURCE}, "id": f"NW-{key}", "name": f"Netwerk client {key}",
        "client": {"id": f"CL-{key}", "bsn": (bsns or Bsns())[i],
                   "name": {"given": [rng.choice(GIVEN)], "family": rng.choice(FAMILY)},
                   "birthDate": f"{rng.randint(1925, 1950)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   "gender": rng.choice(["female", "male"]),
                   "address": {"line": [f"Dorpsstraat {rng.randint(1, 200)}"],
                               "postalCode": f"{rng.randint(1000, 9999)} {rng.choice(['AB', 'CD', 'KL', 'XR'])}",
                               "city": rng.choice(CITIES)},
                   "managingOrganization": managing},
        "organizations": [o for o in organizations() if o["id"] in used_orgs],
        "members": members, "agreements": agreements, "goals": goals, "logbook": logbook, "sharing": sharing,
    }
    return Client(i, document, carers)


def shared_bundle(clients: int, seed: int) -> dict:
    """Every pooled Organization and Practitioner, as the mapping writes them, in one transaction."""
    pros = [{**p, "id": f"POOL-{k}", "roles": ["PRF"]} for k, p in enumerate(professionals(clients, seed))]
    doc = {"source": {"system": SOURCE}, "id": "NW-POOL",
           "client": {"id": "CL-POOL", "bsn": Bsns()[0], "name": {"given": ["Pool"], "family": "Pool"},
                      "birthDate": "1930-01-01", "managingOrganization": "ORG-000"},
           "organizations": organizations(), "members": pros + [
               {"id": "POOL-volunteer", "kind": "informal", "name": {"given": ["V"], "family": "V"},
                "roles": ["volunteer"], "organization": f"ORG-{ORG_POOL - 1:03d}"}]}
    doc["members"] += [{"id": f"POOL-org-{o['id']}", "kind": "professional", "name": {"given": ["O"], "family": "O"},
                        "discipline": "huisarts", "organization": o["id"]} for o in organizations()]
    bundle = network_to_fhir(doc)
    keep = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Organization"
            or (e["resource"]["resourceType"] == "Practitioner"
                and any(i["system"].endswith("/big") for i in e["resource"]["identifier"]))]
    return {"resourceType": "Bundle", "type": "transaction", "entry": keep}


def key_of(entry: dict) -> tuple[str, str]:
    """(type, identifier value) of a mapped entry, from its conditional-update URL."""
    rtype, _, query = entry["request"]["url"].partition("?identifier=")
    return rtype, query.rpartition("|")[2]
