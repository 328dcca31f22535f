"""CareNetwork document -> FHIR transaction Bundle.

Every entry is a conditional update on the ECD's identifier, and its fullUrl
is a uuid5 of that identifier: importing the same document twice updates in
place, and the same document always gives the same Bundle.
"""
from __future__ import annotations

from . import codes, identity
from .sharing import sharing_to_consent
from .validation import CLIENT, load_network


def network_to_fhir(doc: dict) -> dict:
    """A transaction Bundle (plain JSON) for a CareNetwork document. The
    document is validated first; NetworkInvalid is raised when it fails."""
    return _Bundler(load_network(doc)).bundle()


def _name(name: dict) -> list[dict]:
    out = {"use": "official", "family": name["family"]}
    if name.get("given"):
        out["given"] = list(name["given"])
    return [out]


def _period(item: dict) -> dict | None:
    period = item.get("period") or {}
    out = {key: period[key] for key in ("start", "end") if key in period}
    return out or None


def _put(resource: dict, key: str, value) -> None:
    if value not in (None, [], {}, ""):
        resource[key] = value


class _Bundler:
    def __init__(self, doc: dict):
        self.doc = doc
        self.base = doc["source"]["system"]
        self.entries: list[dict] = []
        self.members = {m["id"]: m for m in doc["members"]}
        self.urls: dict[tuple[str, str], str] = {}
        self.idents: dict[tuple[str, str], dict] = {}
        # Identifiers and fullUrls first, so any resource can point at any other.
        self._key("network", doc["id"])
        self._key("client", doc["client"]["id"])
        for org in doc["organizations"]:
            self._key("organization", org["id"])
        for member in doc["members"]:
            self._key("member", member["id"])
            if member["kind"] == "professional":
                self._key("practitioner", member["id"], self._practitioner_key(member))
        for kind, items in (("agreement", doc["agreements"]), ("goal", doc["goals"]),
                            ("logbook", doc["logbook"]), ("sharing", doc["sharing"])):
            for item in items:
                self._key(kind, item["id"])

    def _key(self, kind: str, ecd_id: str, ident: dict | None = None) -> None:
        ident = ident or identity.identifier(self.base, kind, ecd_id)
        self.idents[kind, ecd_id] = ident
        self.urls[kind, ecd_id] = identity.full_url(ident)

    def _practitioner_key(self, member: dict) -> dict:
        # The same person in several networks is one Practitioner: key it on a national number.
        for field, sys in (("agb", codes.AGB), ("uzi", codes.UZI), ("big", codes.BIG)):
            if member.get(field):
                return {"system": sys, "value": member[field]}
        return identity.identifier(self.base, "practitioner", member["id"])

    def ref(self, kind: str, ecd_id: str) -> dict:
        return {"reference": self.urls[kind, ecd_id]}

    def who(self, ecd_id: str) -> dict:
        """Reference to the client or a member as actor (author, decider, ...)."""
        return self.ref("client", self.doc["client"]["id"]) if ecd_id == CLIENT else self.ref("member", ecd_id)

    def add(self, kind: str, ecd_id: str, resource: dict) -> None:
        ident = self.idents[kind, ecd_id]
        self.entries.append({
            "fullUrl": self.urls[kind, ecd_id],
            "resource": resource,
            "request": {"method": "PUT", "url": identity.conditional_url(resource["resourceType"], ident)},
        })

    def bundle(self) -> dict:
        doc = self.doc
        for org in doc["organizations"]:
            self.add("organization", org["id"], self.organization(org))
        self.add("client", doc["client"]["id"], self.patient(doc["client"]))
        for m in doc["members"]:
            if m["kind"] == "professional":
                self.add("practitioner", m["id"], self.practitioner(m))
        for m in doc["members"]:
            maker = self.practitioner_role if m["kind"] == "professional" else self.related_person
            self.add("member", m["id"], maker(m))
        self.add("network", doc["id"], self.care_team())
        for goal in doc["goals"]:
            self.add("goal", goal["id"], self.goal(goal))
        for agreement in doc["agreements"]:
            self.add("agreement", agreement["id"], self.care_plan(agreement))
        for entry in doc["logbook"]:
            self.add("logbook", entry["id"], self.communication(entry))
        for choice in doc["sharing"]:
            self.add("sharing", choice["id"], self.consent(choice))
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}

    def organization(self, org: dict) -> dict:
        idents = [self.idents["organization", org["id"]]]
        idents += [{"system": sys, "value": org[f]} for f, sys in (("agb", codes.AGB), ("ura", codes.URA)) if org.get(f)]
        res = {"resourceType": "Organization", "identifier": idents, "name": org["name"]}
        _put(res, "telecom", [dict(t) for t in org["telecom"]])
        return res

    def patient(self, client: dict) -> dict:
        res = {
            "resourceType": "Patient",
            "identifier": [self.idents["client", client["id"]], {"system": codes.BSN, "value": client["bsn"]}],
            "name": _name(client["name"]),
        }
        _put(res, "telecom", [dict(t) for t in client["telecom"]])
        _put(res, "gender", client.get("gender"))
        res["birthDate"] = client["birthDate"]
        if client.get("address"):
            a = client["address"]
            res["address"] = [{"line": list(a["line"]), "city": a["city"], "postalCode": a["postalCode"]}]
        if client.get("managingOrganization"):
            res["managingOrganization"] = self.ref("organization", client["managingOrganization"])
        return res

    def related_person(self, m: dict) -> dict:
        relationship = [codes.role_concept(code, codes.INFORMAL_ROLES) for code in m["roles"]]
        if m.get("relationship"):
            relationship.append(codes.role_concept(m["relationship"], codes.RELATIONSHIPS))
        extensions = []
        if m.get("organization"):
            extensions.append({"url": codes.EXT_ORGANIZATION, "valueReference": self.ref("organization", m["organization"])})
        for slot in m["availability"]:
            parts = [{"url": "daysOfWeek", "valueCode": d} for d in slot["daysOfWeek"]]
            parts += [{"url": f"available{k.title()}Time", "valueTime": slot[k]} for k in ("start", "end") if k in slot]
            extensions.append({"url": codes.EXT_AVAILABILITY, "extension": parts})
        if m.get("availabilityNote"):
            extensions.append({"url": codes.EXT_AVAILABILITY_NOTE, "valueString": m["availabilityNote"]})
        res = {"resourceType": "RelatedPerson"}
        _put(res, "extension", extensions)
        res["identifier"] = [self.idents["member", m["id"]]]
        # Always true: membership ends with its period, which the gateway checks
        # at every request; the Bundle must not depend on the day of the import.
        res["active"] = True
        res["patient"] = self.ref("client", self.doc["client"]["id"])
        _put(res, "relationship", relationship)
        res["name"] = _name(m["name"])
        _put(res, "telecom", [dict(t) for t in m["telecom"]])
        _put(res, "gender", m.get("gender"))
        _put(res, "period", _period(m))
        return res

    def practitioner(self, m: dict) -> dict:
        idents = [{"system": sys, "value": m[f]} for f, sys in (("agb", codes.AGB), ("uzi", codes.UZI), ("big", codes.BIG)) if m.get(f)]
        res = {"resourceType": "Practitioner", "identifier": idents or [self.idents["practitioner", m["id"]]],
               "name": _name(m["name"])}
        _put(res, "gender", m.get("gender"))
        return res

    def practitioner_role(self, m: dict) -> dict:
        res = {"resourceType": "PractitionerRole", "identifier": [self.idents["member", m["id"]]]}
        _put(res, "period", _period(m))
        res["practitioner"] = self.ref("practitioner", m["id"])
        if m.get("organization"):
            res["organization"] = self.ref("organization", m["organization"])
        res["specialty"] = [{"coding": [codes.coding(codes.DISCIPLINE, m["discipline"], codes.DISCIPLINES[m["discipline"]])]}]
        _put(res, "telecom", [dict(t) for t in m["telecom"]])
        times = []
        for slot in m["availability"]:
            time = {"daysOfWeek": list(slot["daysOfWeek"])}
            time.update({f"available{k.title()}Time": slot[k] for k in ("start", "end") if k in slot})
            times.append(time)
        _put(res, "availableTime", times)
        _put(res, "availabilityExceptions", m.get("availabilityNote"))
        return res

    def care_team(self) -> dict:
        doc = self.doc
        participants = []
        for m in doc["members"]:
            table = codes.PROFESSIONAL_ROLES if m["kind"] == "professional" else codes.INFORMAL_ROLES
            p = {}
            _put(p, "role", [codes.role_concept(code, table) for code in m["roles"]])
            p["member"] = self.ref("member", m["id"])
            _put(p, "period", _period(m))
            participants.append(p)
        res = {"resourceType": "CareTeam"}
        kinds = [m["kind"] for m in doc["members"]]
        # zib-CareTeam allows one participant per slice (contact person, professional):
        # only a network that small may claim the profile.
        if kinds.count("informal") <= 1 and kinds.count("professional") <= 1:
            res["meta"] = {"profile": [codes.NL_CORE_CARE_TEAM]}
        res["identifier"] = [self.idents["network", doc["id"]]]
        res["status"] = doc["status"]
        _put(res, "name", doc.get("name"))
        res["subject"] = self.ref("client", doc["client"]["id"])
        _put(res, "participant", participants)
        if doc["client"].get("managingOrganization"):
            res["managingOrganization"] = [self.ref("organization", doc["client"]["managingOrganization"])]
        return res

    def goal(self, goal: dict) -> dict:
        res = {"resourceType": "Goal", "identifier": [self.idents["goal", goal["id"]]],
               "lifecycleStatus": goal["lifecycleStatus"], "description": {"text": goal["description"]},
               "subject": self.ref("client", self.doc["client"]["id"])}
        _put(res, "startDate", goal.get("start"))
        if goal.get("due"):
            res["target"] = [{"dueDate": goal["due"]}]
        return res

    def care_plan(self, a: dict) -> dict:
        informal_only = all(self.members[p]["kind"] == "informal" for p in a["performers"])
        help_code = codes.HELP_INFORMAL if informal_only else codes.HELP_PROFESSIONAL
        detail = {
            "code": {"coding": [codes.coding(codes.SNOMED, help_code)]},
            "status": codes.ACTIVITY_STATUS[a["status"]],
            "performer": [self.ref("member", p) for p in a["performers"]],
            "description": a["activity"],
        }
        if a.get("timing"):
            detail["scheduledTiming"] = {"repeat": dict(a["timing"]["repeat"])}
        res = {
            "resourceType": "CarePlan",
            "identifier": [self.idents["agreement", a["id"]]],
            "status": a["status"],
            "intent": "plan",
            "category": [{"coding": [codes.coding(codes.SNOMED, codes.HELP_FROM_OTHERS)]},
                         {"coding": [codes.coding(codes.CARE_TASK, a["category"], codes.CARE_TASKS[a["category"]])]}],
            "title": a["activity"],
        }
        _put(res, "description", a.get("description"))
        res["subject"] = self.ref("client", self.doc["client"]["id"])
        _put(res, "period", _period(a))
        res["careTeam"] = [self.ref("network", self.doc["id"])]
        _put(res, "goal", [self.ref("goal", g) for g in a["goals"]])
        res["activity"] = [{"detail": detail}]
        return res

    def communication(self, e: dict) -> dict:
        res = {"resourceType": "Communication", "identifier": [self.idents["logbook", e["id"]]],
               "status": "completed",
               "category": [{"coding": [codes.coding(codes.LOGBOOK_TOPIC, e["topic"], codes.LOGBOOK_TOPICS[e["topic"]])]}],
               "subject": self.ref("client", self.doc["client"]["id"])}
        if e.get("agreement"):
            res["about"] = [self.ref("agreement", e["agreement"])]
        res["sent"] = e["time"]
        res["recipient"] = [self.ref("network", self.doc["id"])]
        res["sender"] = self.who(e["author"])
        res["payload"] = [{"contentString": e["text"]}]
        return res

    def consent(self, choice: dict) -> dict:
        managing = self.doc["client"].get("managingOrganization")
        own = [self.urls["agreement", a["id"]] for a in self.doc["agreements"] if choice["member"] in a["performers"]]
        return sharing_to_consent(
            choice,
            identifier=self.idents["sharing", choice["id"]],
            patient_ref=self.urls["client", self.doc["client"]["id"]],
            performer_ref=self.who(choice["decidedBy"])["reference"],
            actor_ref=self.urls["member", choice["member"]],
            organization_ref=self.urls["organization", managing] if managing else None,
            recorder_ref=self.who(choice["recordedBy"])["reference"] if choice.get("recordedBy") else None,
            own_agreement_refs=own,
        )
