"""FHIR resources -> CareNetwork document.

Works on what a server returns (references as `Type/id`, absolute or
versioned) as well as on a transaction Bundle's entries (references as
urn:uuid fullUrls). The network is found from its CareTeam; everything else
is reached from there, so unrelated resources in the input are ignored.
"""
from __future__ import annotations

import re

from . import codes, identity
from .errors import MappingError
from .sharing import consent_to_sharing
from .validation import CLIENT, load_network

_LITERAL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class _Index:
    def __init__(self, items: list[dict]):
        self.resources: list[dict] = []
        self._by_key: dict[str, dict] = {}
        for item in items:
            resource, full_url = (item.get("resource"), item.get("fullUrl")) if "resourceType" not in item else (item, None)
            if not isinstance(resource, dict):
                continue
            self.resources.append(resource)
            if full_url:
                self._by_key[full_url] = resource
            if resource.get("id"):
                self._by_key[f"{resource['resourceType']}/{resource['id']}"] = resource

    def resolve(self, ref: dict | None, *types: str) -> dict:
        target = (ref or {}).get("reference") or ""
        resource = self._by_key.get(target)
        if resource is None and (m := _LITERAL.search(target)):
            resource = self._by_key.get(f"{m[1]}/{m[2]}")
        if resource is None:
            raise MappingError(f"Reference {target!r} does not resolve to a resource in the input.")
        if types and resource["resourceType"] not in types:
            raise MappingError(f"Reference {target!r} points at a {resource['resourceType']}, expected {' or '.join(types)}.")
        return resource

    def of_type(self, resource_type: str) -> list[dict]:
        return [r for r in self.resources if r.get("resourceType") == resource_type]


def bundle_to_network(bundle: dict, network_id: str | None = None) -> dict:
    """The network in a Bundle (transaction, batch, searchset or collection)."""
    return fhir_to_network(bundle.get("entry") or [], network_id)


def fhir_to_network(resources: list[dict], network_id: str | None = None) -> dict:
    """The CareNetwork document held by these resources (plain FHIR dicts, or
    Bundle entries with fullUrl). With several networks in the input, name the
    one wanted by its ECD id. Returns the canonical document (as load_network)."""
    return load_network(_Reader(_Index(resources), network_id).document())


def _name(resource: dict) -> dict:
    name = (resource.get("name") or [{}])[0]
    out = {"family": name.get("family")}
    if name.get("given"):
        out["given"] = list(name["given"])
    return out


def _period(resource: dict) -> dict | None:
    period = {k: v for k, v in (resource.get("period") or {}).items() if k in ("start", "end")}
    return period or None


def _coded(concepts: list[dict], table: dict[str, tuple[str, str]]) -> list[str]:
    return [c["code"] for concept in concepts for c in concept.get("coding") or []
            if codes.normalise_role(c.get("code", "")) in table and table[codes.normalise_role(c["code"])][0] == c.get("system")]


def _code(concepts: list[dict], system: str) -> str | None:
    for concept in concepts:
        for c in concept.get("coding") or []:
            if c.get("system") == system:
                return c.get("code")
    return None


def _copy(target: dict, key: str, value) -> None:
    if value not in (None, [], {}, ""):
        target[key] = value


class _Reader:
    def __init__(self, index: _Index, network_id: str | None):
        self.index = index
        teams = [t for t in index.of_type("CareTeam")
                 if any(i.get("system", "").endswith("/network") for i in t.get("identifier") or [])
                 and (network_id is None or any(i.get("value") == network_id for i in t["identifier"]))]
        if len(teams) != 1:
            raise MappingError(f"Expected one network CareTeam in the input, found {len(teams)}.")
        self.team = teams[0]
        ident = next(i for i in self.team["identifier"] if i.get("system", "").endswith("/network"))
        self.base = ident["system"][: -len("/network")]
        self.network_id = ident["value"]
        self.patient = index.resolve(self.team.get("subject"), "Patient")
        self.organizations: dict[str, dict] = {}

    def ecd_id(self, resource: dict, kind: str) -> str:
        value = identity.value_of(resource, identity.system(self.base, kind))
        if value is None:
            raise MappingError(f"{resource['resourceType']} {resource.get('id', '')} has no {kind} identifier of {self.base}.")
        return value

    def is_ours(self, ref: dict | None, target: dict) -> bool:
        try:
            return self.index.resolve(ref) is target
        except MappingError:
            return False

    def member_of(self, ref: dict | None) -> str:
        resource = self.index.resolve(ref, "Patient", "RelatedPerson", "PractitionerRole", "Practitioner")
        if resource is self.patient:
            return CLIENT
        if resource["resourceType"] == "Practitioner":
            for role in self.index.of_type("PractitionerRole"):
                if self.is_ours(role.get("practitioner"), resource) and identity.value_of(role, identity.system(self.base, "member")):
                    return self.ecd_id(role, "member")
        return self.ecd_id(resource, "member")

    def organization(self, ref: dict) -> str:
        res = self.index.resolve(ref, "Organization")
        ecd_id = self.ecd_id(res, "organization")
        org = {"id": ecd_id, "name": res.get("name")}
        for field, sys in (("agb", codes.AGB), ("ura", codes.URA)):
            _copy(org, field, identity.value_of(res, sys))
        _copy(org, "telecom", res.get("telecom"))
        self.organizations[ecd_id] = org
        return ecd_id

    def document(self) -> dict:
        doc = {"source": {"system": self.base}, "id": self.network_id}
        _copy(doc, "name", self.team.get("name"))
        doc["status"] = self.team.get("status")
        doc["client"] = self.client()
        doc["members"] = [self.member(p) for p in self.team.get("participant") or []]
        doc["agreements"] = [self.agreement(cp) for cp in self.index.of_type("CarePlan")
                             if any(self.is_ours(r, self.team) for r in cp.get("careTeam") or [])]
        goal_system = identity.system(self.base, "goal")
        doc["goals"] = [self.goal(g) for g in self.index.of_type("Goal")
                        if identity.value_of(g, goal_system) and self.is_ours(g.get("subject"), self.patient)]
        doc["logbook"] = [self.logbook_entry(c) for c in self.index.of_type("Communication")
                          if any(self.is_ours(r, self.team) for r in c.get("recipient") or [])]
        sharing_system = identity.system(self.base, "sharing")
        doc["sharing"] = [consent_to_sharing(c, self.ecd_id(c, "sharing"), self.member_of)
                          for c in self.index.of_type("Consent")
                          if identity.value_of(c, sharing_system) and self.is_ours(c.get("patient"), self.patient)]
        doc["organizations"] = list(self.organizations.values())
        return doc

    def client(self) -> dict:
        p = self.patient
        client = {"id": self.ecd_id(p, "client"), "bsn": identity.value_of(p, codes.BSN), "name": _name(p)}
        _copy(client, "birthDate", p.get("birthDate"))
        _copy(client, "gender", p.get("gender"))
        _copy(client, "telecom", p.get("telecom"))
        if p.get("address"):
            a = p["address"][0]
            client["address"] = {k: a[k] for k in ("line", "postalCode", "city") if k in a}
        if p.get("managingOrganization"):
            client["managingOrganization"] = self.organization(p["managingOrganization"])
        return client

    def member(self, participant: dict) -> dict:
        res = self.index.resolve(participant.get("member"), "RelatedPerson", "PractitionerRole")
        if res["resourceType"] == "RelatedPerson":
            return self.informal(res)
        return self.professional(res, participant)

    def informal(self, rp: dict) -> dict:
        m = {"id": self.ecd_id(rp, "member"), "kind": "informal", "name": _name(rp)}
        _copy(m, "gender", rp.get("gender"))
        relationship = _coded(rp.get("relationship") or [], codes.RELATIONSHIPS)
        if relationship:
            m["relationship"] = relationship[0]
        m["roles"] = _coded(rp.get("relationship") or [], codes.INFORMAL_ROLES)
        availability = []
        for ext in rp.get("extension") or []:
            if ext.get("url") == codes.EXT_ORGANIZATION:
                m["organization"] = self.organization(ext.get("valueReference"))
            elif ext.get("url") == codes.EXT_AVAILABILITY:
                slot = {"daysOfWeek": [e["valueCode"] for e in ext.get("extension") or [] if e.get("url") == "daysOfWeek"]}
                for e in ext.get("extension") or []:
                    if e.get("url") in ("availableStartTime", "availableEndTime"):
                        slot["start" if e["url"] == "availableStartTime" else "end"] = e.get("valueTime")
                availability.append(slot)
            elif ext.get("url") == codes.EXT_AVAILABILITY_NOTE:
                m["availabilityNote"] = ext.get("valueString")
        _copy(m, "telecom", rp.get("telecom"))
        _copy(m, "availability", availability)
        _copy(m, "period", _period(rp))
        return m

    def professional(self, role: dict, participant: dict) -> dict:
        person = self.index.resolve(role.get("practitioner"), "Practitioner")
        m = {"id": self.ecd_id(role, "member"), "kind": "professional", "name": _name(person)}
        _copy(m, "gender", person.get("gender"))
        m["roles"] = _coded(participant.get("role") or [], codes.PROFESSIONAL_ROLES)
        if role.get("organization"):
            m["organization"] = self.organization(role["organization"])
        _copy(m, "discipline", _code(role.get("specialty") or [], codes.DISCIPLINE))
        for field, sys in (("agb", codes.AGB), ("uzi", codes.UZI), ("big", codes.BIG)):
            _copy(m, field, identity.value_of(person, sys))
        _copy(m, "telecom", role.get("telecom"))
        _copy(m, "availability", [
            {k: t[f] for k, f in (("daysOfWeek", "daysOfWeek"), ("start", "availableStartTime"), ("end", "availableEndTime")) if f in t}
            for t in role.get("availableTime") or []])
        _copy(m, "availabilityNote", role.get("availabilityExceptions"))
        _copy(m, "period", _period(role))
        return m

    def agreement(self, cp: dict) -> dict:
        detail = ((cp.get("activity") or [{}])[0]).get("detail") or {}
        a = {"id": self.ecd_id(cp, "agreement"), "activity": cp.get("title") or detail.get("description"),
             "category": _code(cp.get("category") or [], codes.CARE_TASK),
             "performers": [self.member_of(r) for r in detail.get("performer") or []],
             "goals": [self.ecd_id(self.index.resolve(g, "Goal"), "goal") for g in cp.get("goal") or []],
             "status": cp.get("status")}
        _copy(a, "description", cp.get("description"))
        repeat = (detail.get("scheduledTiming") or {}).get("repeat")
        if repeat:
            a["timing"] = {"repeat": {k: v for k, v in repeat.items() if k in _REPEAT_KEYS}}
        _copy(a, "period", _period(cp))
        return a

    def goal(self, g: dict) -> dict:
        goal = {"id": self.ecd_id(g, "goal"), "description": (g.get("description") or {}).get("text"),
                "lifecycleStatus": g.get("lifecycleStatus")}
        _copy(goal, "start", g.get("startDate"))
        _copy(goal, "due", ((g.get("target") or [{}])[0]).get("dueDate"))
        return goal

    def logbook_entry(self, c: dict) -> dict:
        entry = {"id": self.ecd_id(c, "logbook"), "author": self.member_of(c.get("sender")), "time": c.get("sent"),
                 "text": ((c.get("payload") or [{}])[0]).get("contentString")}
        _copy(entry, "topic", _code(c.get("category") or [], codes.LOGBOOK_TOPIC))
        for about in c.get("about") or []:
            target = self.index.resolve(about)
            if target["resourceType"] == "CarePlan":
                entry["agreement"] = self.ecd_id(target, "agreement")
        return entry


_REPEAT_KEYS = ("dayOfWeek", "timeOfDay", "frequency", "period", "periodUnit", "duration", "durationUnit")
