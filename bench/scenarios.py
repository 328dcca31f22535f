"""What the bench asks: the loaded world (server ids per client and carer) and the scenarios over it.

Each read and search runs twice: as a system client (an ECD with
`system/*.cruds`) and as carers (one token per carer, `user/*.rs`), each
request picking a client or carer at random. A carer only gets questions
its sharing choice answers (a CarePlan it may see, the logbook when it may
read the logbook), so a non-2xx answer is a failure, never a refusal by design.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson

from mappings import network_to_fhir

from .dataset import client
from .load import SEQ, Request

FHIR = "/fhir"


@dataclass
class CarerIds:
    related_person: str
    parts: frozenset
    careplans: list[str]  # server ids of the CarePlans this carer may see


@dataclass
class ClientIds:
    patient: str
    careplans: list[str]
    carers: list[CarerIds] = field(default_factory=list)


@dataclass
class Scenario:
    name: str  # what is asked, e.g. "read CarePlan/{id}"
    who: str  # "system", "carer" or "none" (the ceiling)
    requests: list[Request]
    ceiling: str | None = None  # the ceiling this row is compared with: "read" or "search"
    write: bool = False


# name, path for a client, carers asked it (their parts must include one of these), ceiling
QUESTIONS = [
    ("read CarePlan/{id}", None, "careplans", "read"),
    ("vread CarePlan/{id}/_history/1", None, "careplans", "read"),
    ("CareTeam?patient", "/CareTeam?patient=Patient/{patient}", {"care-team"}, "search"),
    ("CarePlan?patient&status=active&_include=CarePlan:goal",
     "/CarePlan?patient=Patient/{patient}&status=active&_include=CarePlan:goal",
     {"agreements", "own-agreements"}, "search"),
    ("Communication?subject&_sort=-sent&_count=20",
     "/Communication?subject=Patient/{patient}&_sort=-sent&_count=20", {"logbook"}, "search"),
    ("Communication/_history?_count=20", "/Communication/_history?_count=20", {"logbook"}, "search"),
    ("Patient/{id}/$everything?_count=20", "/Patient/{patient}/$everything?_count=20",
     {"care-team", "agreements", "own-agreements", "logbook"}, "search"),
]

# The ceiling answers with the bytes of these questions' system answers.
CEILING_SAMPLES = {"read CarePlan/{id}": "read", "Communication?subject&_sort=-sent&_count=20": "search"}


def _careplan_path(name: str, careplan: str) -> str:
    return f"{FHIR}/CarePlan/{careplan}" + ("/_history/1" if name.startswith("vread") else "")


def build(clients: list[ClientIds], system_token: str, carer_token, rng: random.Random, pool: int,
          new_networks: list[bytes]) -> list[Scenario]:
    """The scenarios, each with up to `pool` requests. carer_token(related_person) -> token."""
    carers = [(c, k) for c in clients for k in c.carers]
    out: list[Scenario] = []
    for name, template, wanted, ceiling in QUESTIONS:
        system, carer = [], []
        for _ in range(pool):
            c = rng.choice(clients)
            if template is None:
                system.append(Request("GET", _careplan_path(name, rng.choice(c.careplans)), system_token))
            else:
                system.append(Request("GET", FHIR + template.format(patient=c.patient), system_token))
        fitting = [(c, k) for c, k in carers if (k.careplans if wanted == "careplans" else k.parts & wanted)]
        for c, k in rng.sample(fitting, min(pool, len(fitting))):
            path = _careplan_path(name, rng.choice(k.careplans)) if template is None \
                else FHIR + template.format(patient=c.patient)
            carer.append(Request("GET", path, carer_token(k.related_person)))
        out.append(Scenario(name, "system", system, ceiling))
        if carer:
            out.append(Scenario(name, "carer", carer, ceiling))
    creates = []
    for _ in range(min(pool, 500)):
        c = rng.choice(clients)
        message = {"resourceType": "Communication", "status": "completed",
                   "subject": {"reference": f"Patient/{c.patient}"}, "sent": "2026-11-30T10:00:00+01:00",
                   "payload": [{"contentString": "Vandaag samen koffie gedronken, goed gesprek gehad."}]}
        if c.carers:
            message["sender"] = {"reference": f"RelatedPerson/{rng.choice(c.carers).related_person}"}
        creates.append(Request("POST", f"{FHIR}/Communication", system_token, orjson.dumps(message)))
    out.append(Scenario("create Communication", "system", creates, write=True))
    out.append(Scenario("transaction: one new network", "system",
                        [Request("POST", FHIR, system_token, body) for body in new_networks], write=True))
    return out


MARKER = "SEQMARK"


def new_networks(clients: int, seed: int, rng: random.Random, count: int = 50) -> list[bytes]:
    """Transaction Bundles shaped like `count` of the dataset's networks, with SEQ in their ECD ids, so
    each request stores a new network; their professionals are spread over the pool, as a day's are."""
    out = []
    for i in rng.sample(range(clients), min(count, clients)):
        raw = orjson.dumps(network_to_fhir(client(i, clients, seed, marker=MARKER).document))
        out.append(raw.replace(MARKER.encode(), SEQ))
    return out
