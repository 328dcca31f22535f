"""What one caller may see and do: roles (DESIGN.md) and the client's Consent.

Built per request from stored data. A carer's RelatedPerson and their client's
Consents (read and compiled) may come from a `ConsentCache`, which hands them
out only while the rows they were built from are unchanged in the database
(checked in this request's transaction), so a revoked Consent takes effect on
the next request. Reads are limited in SQL (`restrict`), so
totals, paging and includes never show more than a caller may see; writes
are checked here before anything is stored. The repository is the only
caller.

| role | sees |
|---|---|
| system | everything its scopes allow |
| practitioner | the compartments of patients whose CareTeam they take part in (directly or via a PractitionerRole), and the directory (Practitioner, PractitionerRole, Organization) |
| patient | their own compartment, and directory entries it references |
| legal representative | as the patient |
| other RelatedPerson | what the patient's active Consents permit, within that patient's compartment |
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cached_property

import orjson
from sqlalchemy import and_, false, or_, select, union

import consent
from consent.dates import parse_period, within

from .access import AUDITED_ROLES, Access
from .access_binds import Binds, Bound, shapes
from . import consent_cache
from .consent_cache import CarerState, ConsentCache
from .consent_sql import REF, mentions_referrers, to_sql
from .errors import Forbidden, MethodNotAllowed
from .scopes import contexts
from .search.sql import unindexed
from .storage.tables import idx_reference, resources

# The R4 patient compartment, as the search parameters that put a resource in it.
COMPARTMENT: dict[str, tuple[str, ...]] = {
    "RelatedPerson": ("patient",),
    "CareTeam": ("subject", "participant"),
    "CarePlan": ("subject", "performer"),
    "Goal": ("subject",),
    "Consent": ("patient",),
    "Communication": ("subject", "sender", "recipient"),
    "AuditEvent": ("patient",),
    "Provenance": ("patient",),
}
COMPARTMENT_TYPES = frozenset(COMPARTMENT) | {"Patient"}
DIRECTORY = frozenset({"Practitioner", "PractitionerRole", "Organization"})
_CLOSED_TEAM = ("inactive", "entered-in-error")


class Policy:
    def __init__(self, conn, access: Access, now: datetime | None = None, cache: ConsentCache | None = None):
        # A carer's clauses kept in `cache` are shared by the carers of their shape, this carer's
        # values in `bound`, which `conn` puts into every SELECT it runs (access_binds); run what
        # they go into on `self.conn`. Without a cache, a carer's clauses hold their values.
        self.bound: dict | None = None
        if cache is not None and access.role == "related-person":
            self.bound = {}
            conn = Bound(conn, self.bound)
        self.conn = conn
        self.access = access
        self.now = now or datetime.now(timezone.utc)
        self.cache = cache
        self._restrictions: dict[str, object] = {}
        self._proposed: list[dict] | None = None  # Consents to judge by instead of the stored ones

    # -- who the caller acts for ---------------------------------------------
    @property
    def unrestricted(self) -> bool:
        return self.access.role == "system"

    @property
    def audited(self) -> bool:
        """Disclosures to informal carers and practitioners are audited (DESIGN.md)."""
        return self.access.role in AUDITED_ROLES

    @cached_property
    def _carer_state(self) -> CarerState | None:
        """The caller's RelatedPerson and their client's Consents as stored now (kept or loaded)."""
        if self.access.role != "related-person":
            return None
        if self.cache is None:
            return consent_cache.load(self.conn, self.access.user_id, _patient_id_of, self.now)
        return self.cache.state(self.conn, self.access.user_id, _patient_id_of, self.now)

    @cached_property
    def related_person(self) -> dict | None:
        if self.access.role != "related-person":
            return None
        body = self._carer_state.related_person
        if body is None or body.get("active") is False or not self._current_period(body):
            return None  # a member who left the network sees nothing any more
        return body

    def _current_period(self, element: dict) -> bool:
        """No period, or one that includes now; a malformed period counts as over (fail closed)."""
        if "period" not in element:
            return True
        try:
            return within(self.now, parse_period(element["period"]))
        except ValueError:
            return False

    @cached_property
    def carer_patient(self) -> str | None:
        """The patient a RelatedPerson caller belongs to ("Patient/id"), if any."""
        rp = self.related_person
        ref = ((rp or {}).get("patient") or {}).get("reference")
        if not isinstance(ref, str) or not ref.startswith("Patient/"):
            return None
        launch = self.access.launch_patient
        if launch and "patient" in contexts(self.access.scopes) and ref != f"Patient/{launch}":
            return None  # the app was launched for another client than the one this carer belongs to
        return ref

    @property
    def carer_patient_id(self) -> str | None:
        return self.carer_patient.partition("/")[2] if self.carer_patient else None

    @cached_property
    def is_representative(self) -> bool:
        return bool(self.related_person and self.carer_patient
                    and consent.is_legal_representative(self.related_person, self.carer_patient, self.now))

    @cached_property
    def patients(self) -> tuple[str, ...] | None:
        """Patient ids whose compartment the caller may see as a whole; None: all."""
        role = self.access.role
        if role == "system":
            return None
        if role == "patient":
            return (self.access.user_id,)
        if role == "practitioner":
            mine = self._practitioner_patients()
            # patient/ scopes confine an app to the client it was launched for (SMART launch context).
            if "patient" in contexts(self.access.scopes):
                return tuple(p for p in mine if p == self.access.launch_patient)
            return mine
        if role == "related-person" and self.is_representative:
            return (self.carer_patient_id,)
        return ()

    def confines_to(self, patient_id: str) -> bool:
        """Whether every clause `restrict` makes (not None) lies within this one patient's record
        (`in_record`), built on that record's own lookups: for a carer or representative of that
        patient, the patient themselves, and a practitioner whose only client it is."""
        if self.unrestricted:
            return False
        if self.patients:
            return self.patients == (patient_id,)
        return self.access.role == "related-person" and self.carer_patient_id == patient_id

    @cached_property
    def practitioner_identities(self) -> frozenset[str]:
        """The practitioner and their current PractitionerRoles: whom they act as."""
        r = idx_reference
        role_rids = select(r.c.rid).where(r.c.res_type == "PractitionerRole", r.c.param == "practitioner",
                                          r.c.target_type == "Practitioner", r.c.target_id == self.access.user_id)
        return frozenset({self.access.fhir_user} | {f"PractitionerRole/{b['id']}" for b in self._bodies(role_rids)
                                                    if b.get("active") is not False and self._current_period(b)})

    def _practitioner_patients(self) -> tuple[str, ...]:
        """Subjects of open CareTeams where the practitioner, or a current PractitionerRole of
        theirs, is a participant whose own period (if any) includes now."""
        r = idx_reference
        members = self.practitioner_identities
        team_rids = select(r.c.rid).where(
            r.c.res_type == "CareTeam", r.c.param == "participant",
            or_(*(and_(r.c.target_type == t, r.c.target_id == i) for t, i in (m.split("/", 1) for m in members))))
        patients = set()
        for team in self._bodies(team_rids):
            if team.get("status") in _CLOSED_TEAM or not self._current_period(team):
                continue
            subject = (team.get("subject") or {}).get("reference") or ""
            if subject.startswith("Patient/") and any(
                    (p.get("member") or {}).get("reference") in members and self._current_period(p)
                    for p in team.get("participant") or []):
                patients.add(subject.split("/", 1)[1])
        return tuple(sorted(patients))

    def _bodies(self, rids) -> list[dict]:
        rows = self.conn.execute(select(resources.c.body).where(resources.c.rid.in_(rids),
                                                                resources.c.deleted.is_(False)))
        return [orjson.loads(b) for (b,) in rows]

    # -- consent ----------------------------------------------------------------
    @cached_property
    def consents(self) -> list[dict]:
        """The patient's Consents as stored now (the engine decides which count), or as proposed."""
        if self._proposed is not None:
            return self._proposed
        return self._carer_state.consents() if self._kept() else []

    def propose(self, consents: list[dict]) -> None:
        """Judge as if these were the client's Consents ($access-preview): nothing kept is used."""
        self._proposed = consents
        for derived in ("consents", "consent_filter", "needs_referrers"):
            self.__dict__.pop(derived, None)

    @property
    def active_consents(self) -> list[str]:
        """"Consent/id" of the active ones among `consents`."""
        return list(self._carer_state.active_consents) if self._kept() else consent_cache.active_refs(self.consents)

    def request(self, action=consent.ACCESS) -> consent.AccessRequest:
        return consent.AccessRequest(actor=self.access.fhir_user, action=action, patient=self.carer_patient,
                                     now=self.now, actor_roles=consent.roles_of(self.related_person))

    def _kept(self) -> bool:
        """Whether the client's Consents are the stored ones the kept state was read and compiled
        from: not proposed ($access-preview), and of this carer's client (both come from the same
        RelatedPerson row; should they ever differ, grant nothing)."""
        return self._proposed is None and self.carer_patient is not None \
            and self._carer_state.patient_id == self.carer_patient_id

    @cached_property
    def consent_filter(self) -> consent.Expr:
        if not self.carer_patient:
            return consent.FALSE
        if not self._kept():
            return consent.filter_of(consent.readings(self.consents, self.request()))
        return self._carer_state.consent_filter(self.request())

    def decide(self, resource: dict, action=consent.ACCESS) -> consent.Decision:
        if not self.carer_patient:
            return consent.decide([], self.request(action), resource)
        request = self.request(action)
        readings = (self._carer_state.readings(request) if self._kept()
                    else consent.readings(self.consents, request))
        return consent.decide_read(readings, request, resource)

    def deciding_consent(self, reference: str, stored: dict) -> str | None:
        """The Consent that decided the disclosure of a stored version (`stored` is its body as stored,
        so its meta.versionId names exactly that content) to this carer."""
        version = (stored.get("meta") or {}).get("versionId")
        if not self.carer_patient or not self._kept() or not isinstance(version, str):
            return self.decide(stored).consent
        return self._carer_state.deciding(self.request(), reference, version, lambda: self.decide(stored).consent)

    # -- reads --------------------------------------------------------------------
    def restrict(self, res_type: str):
        """A clause over `resources` limiting what the caller sees of `res_type`; None: no limit."""
        if res_type not in self._restrictions:
            self._restrictions[res_type] = self._restrict(res_type)
        return self._restrictions[res_type]

    def _restrict(self, res_type: str):
        if res_type == "Subscription":
            # A Subscription (its channel headers hold the receiver's credentials) is its owner's
            # alone, for every role: it belongs to no client's record.
            from .subscriptions.store import owned_clause

            return owned_clause(self.access)
        if self.unrestricted:
            return None
        role = self.access.role
        if role == "practitioner" and res_type in DIRECTORY:
            return None
        if self.patients:
            scope = _compartment(res_type, self.patients)
            if res_type in DIRECTORY:
                scope = _referenced_from(res_type, self.patients)
            return scope if scope is not None else false()
        if role != "related-person" or not self.carer_patient:
            return false()
        if self.shares_clauses:
            # From the kept state alone, kept under its stamp; shared by carers of its shape, this
            # carer's values bound on the request's connection (access_binds).
            key = (res_type, self.carer_patient, self.request().actor_roles)
            clause, values = self.cache.clause(self._carer_state, key, lambda: self._shared_clause(res_type))
            self.bound.update(values)
            return clause
        return self._carer_clause(res_type)

    @property
    def shares_clauses(self) -> bool:
        """Whether the caller's access clauses are the kept ones, shared by the carers of their shape."""
        return self.bound is not None and not self.patients and self.carer_patient is not None and self._kept()

    def _shared_clause(self, res_type: str) -> tuple:
        binds = Binds(res_type)
        return shapes.share(self._carer_clause(res_type, binds)), binds.values

    def _carer_clause(self, res_type: str, bind=lambda value: value):
        own = self.access.user_id
        patient = (bind(self.carer_patient_id),)
        scope = _referenced_from(res_type, patient) if res_type in DIRECTORY else _compartment(res_type, patient)
        if scope is None:
            return false()
        shown = to_sql(self.consent_filter, res_type, bind)
        if res_type == "RelatedPerson":
            # One's own record is never hidden from oneself. It lies in the client's compartment
            # (`carer_patient` is read from it), so the compartment's short rid list still leads:
            # `(scope AND shown) OR res_id = own` made PostgreSQL scan every resource, or the whole
            # (res_type, res_id) index, for a carer's $everything (20-85 ms a statement at 10,000 clients).
            shown = or_(shown, resources.c.res_id == bind(own))
        allowed = and_(scope, shown)
        if res_type == "AuditEvent":
            # A carer's Consent may show them their own access trail, never who else looked at
            # the client's record (that is for the client, their representative and the care team).
            r = idx_reference
            allowed = and_(allowed, resources.c.rid.in_(select(r.c.rid).where(
                r.c.res_type == "AuditEvent", r.c.param == "agent", r.c.target_type == "RelatedPerson",
                r.c.target_id == bind(own))))
        return allowed

    def sees_version(self, res_type: str, res_id: str, stored: bytes, referenced_by=None) -> bool:
        """Whether the caller may see this version of a resource (`stored`: its bytes as stored),
        judged on its own compartment and labels (vread, history). The same rule as `restrict`,
        per resource: a property test checks both agree on current versions. Directory entries
        are judged by `restrict` (they belong to a record through what points at them, not
        through their own content)."""
        if self.unrestricted:
            return True
        if res_type in DIRECTORY:
            raise ValueError("directory entries are judged by restrict()")
        if res_type == "RelatedPerson" and self.access.fhir_user == f"RelatedPerson/{res_id}" \
                and self.carer_patient:
            return True
        content = version_facts(stored)
        if self.patients:
            return bool(content.compartment & set(self.patients))
        if self.access.role != "related-person" or not self.carer_patient:
            return False
        if self.carer_patient_id not in content.compartment:
            return False
        if res_type == "AuditEvent" and self.access.fhir_user not in content.agents:
            return False  # the same rule as `_restrict`: one's own access trail only
        facts = content.facts if referenced_by is None else replace(content.facts, referenced_by=referenced_by)
        return consent.evaluate(self.consent_filter, facts)

    @cached_property
    def needs_referrers(self) -> bool:
        """Whether the consent filter asks who points at a resource (data provisions with dependents)."""
        return mentions_referrers(self.consent_filter)

    @property
    def own_client(self) -> str | None:
        """The client a refusal is recorded against: the carer's or patient's own; none for a
        practitioner (whose refusals must not name any client)."""
        if self.access.role == "patient":
            return self.access.fhir_user
        return self.carer_patient

    # -- writes ---------------------------------------------------------------------
    def check_write(self, res_type: str, resource: dict | None, current: dict | None) -> None:
        """Refuse (Forbidden) a create/update (resource given) or delete (None) the caller may not make."""
        if res_type == "AuditEvent" and current is not None:
            raise MethodNotAllowed("AuditEvents cannot be changed or deleted.", headers={"Allow": "GET, POST"})
        if self.unrestricted or res_type == "Subscription":  # anyone with the scope, for themselves
            return
        if res_type == "AuditEvent":
            raise Forbidden("Only system clients record AuditEvents.")
        # What a record system (a configured source) delivered is its to change: portal users add their
        # own resources beside it, so a sync never overwrites a family's writing and the reverse.
        if _from_source(current):
            raise Forbidden("This resource comes from the care organisation's record system; change it there.")
        if _from_source(resource):
            raise Forbidden("Only a sync from a configured source may mark a resource as coming from it "
                            "(meta.source).")
        subjects = {patient_of(r) for r in (resource, current) if r is not None}
        role = self.access.role
        if res_type == "Consent":
            if not self.may_manage_consent_for(subjects):
                raise Forbidden("Only the client, their legal representative, a practitioner of their care "
                                "team or a system client may record or change their Consent.")
            if resource is not None:
                self._check_references(resource)
            return
        if role == "practitioner":
            if not subjects or None in subjects or not subjects <= {f"Patient/{p}" for p in self.patients}:
                raise Forbidden("Practitioners write only for patients of a care team they take part in.")
            if resource is not None:
                sender = (resource.get("sender") or {}).get("reference") if res_type == "Communication" else None
                if sender is not None and sender not in self.practitioner_identities:
                    raise Forbidden("A message must name its author (you, or a role of yours) as sender.")
                self._check_references(resource)
            return
        # Patients, representatives and carers add logbook messages; nothing else.
        if res_type != "Communication" or resource is None or current is not None:
            raise Forbidden("Informal carers, patients and representatives may only add logbook messages "
                            "(Communication).")
        sender = ((resource.get("sender") or {}).get("reference"))
        if sender != self.access.fhir_user:
            raise Forbidden("A logbook message must name its author as sender.", )
        patient_ref = subjects.pop() if len(subjects) == 1 else None
        if patient_ref is None:
            raise Forbidden("A logbook message must be about one client (subject).")
        if role == "patient" or self.is_representative:
            if not self.patients or patient_ref != f"Patient/{self.patients[0]}":
                raise Forbidden("This message is about a client you do not act for.")
        elif patient_ref != self.carer_patient or not self.decide(resource, consent.CONTRIBUTE).permitted:
            raise Forbidden("The client's Consent does not allow you to add to this logbook.")
        self._check_references(resource)

    def _check_references(self, resource: dict) -> None:
        """A person's write (client, carer, representative, practitioner) may point only at what
        this person may see: so it can neither attach itself to another record nor pull a resource
        into this one (which would show it to others)."""
        own = {self.access.fhir_user, self.own_client}
        for ref in references_in(resource):
            if ref.startswith("#") or ref in own:
                continue
            m = _LOCAL_REF.fullmatch(ref)
            if m is None or not self._sees_now(m.group(1), m.group(2)):
                raise Forbidden("What you write may refer only to what is in this client's record and "
                                "visible to you; one of its references is not.")

    def _sees_now(self, res_type: str, res_id: str) -> bool:
        from .resource_types import SERVED

        if res_type not in SERVED:
            return False
        clause = self.restrict(res_type)
        q = select(resources.c.rid).where(resources.c.res_type == res_type, resources.c.res_id == res_id,
                                          resources.c.deleted.is_(False))
        return self.conn.execute(q.where(clause) if clause is not None else q).first() is not None

    def may_manage_consent_for(self, patient_refs: set[str | None]) -> bool:
        if self.unrestricted:
            return True
        if len(patient_refs) != 1 or None in patient_refs:
            return False
        (ref,) = patient_refs
        allowed = self.patients or ()
        if self.access.role == "related-person" and not self.is_representative:
            return False
        return ref in {f"Patient/{p}" for p in allowed}


def _patient_id_of(related_person: dict) -> str | None:
    """The client a RelatedPerson belongs to (the id of its Patient reference), if any."""
    ref = (related_person.get("patient") or {}).get("reference")
    return ref.partition("/")[2] if isinstance(ref, str) and ref.startswith("Patient/") else None


_LOCAL_REF = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?")


def references_in(node) -> list[str]:
    """Every `reference` string in a resource, contained resources included."""
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str):
                found.append(ref)
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return found


def compartment_of(resource: dict, reference_rows: list[dict] | None = None) -> frozenset[str]:
    """Ids of the patients whose compartment holds this resource (version), by the same index
    rows the SQL clause reads (pass them when they are at hand, to extract them once)."""
    from .search.extract import param_rows
    from .search.registry import REGISTRY

    rtype = resource.get("resourceType")
    if rtype == "Patient":
        return frozenset({resource.get("id")})
    params = COMPARTMENT.get(rtype, ())
    if reference_rows is None:  # only the compartment's parameters (a whole extraction cost ~3x)
        reference_rows = [row for name in params for row in param_rows(resource, REGISTRY[rtype][name])]
    return frozenset(row["target_id"] for row in reference_rows
                     if row["param"] in params and row.get("target_type") == "Patient")


@dataclass(frozen=True)
class VersionFacts:
    """What judging a stored version for a caller needs of its content."""

    compartment: frozenset[str]  # patient ids (`compartment_of`)
    facts: consent.ResourceFacts  # what a Consent can test, referrers unknown (`consent.facts_of`)
    agents: frozenset[str]  # an AuditEvent's agents ("Type/id"); empty for other types


# Keyed on the stored bytes themselves, so a hit is that very content (a stored version never
# changes). A carer's history page judged ~20 versions, each parsed and extracted again on every
# request: over a third of the request (bench/results/*-profile-*). An entry with its key is
# ~3.5 KB for a logbook message; 1,024 hold the pages of the carers reading now.
@functools.lru_cache(maxsize=1024)
def version_facts(stored: bytes) -> VersionFacts:
    body = orjson.loads(stored)
    agents = frozenset(_agents(body)) if body.get("resourceType") == "AuditEvent" else frozenset()
    return VersionFacts(compartment_of(body), consent.facts_of(body), agents)


def _agents(resource: dict) -> set[str]:
    """"Type/id" of an AuditEvent's agents, by the index rows `_restrict` reads."""
    from .search.extract import param_rows
    from .search.registry import REGISTRY

    rows = param_rows(resource, REGISTRY["AuditEvent"]["agent"])
    return {f"{row['target_type']}/{row['target_id']}" for row in rows if row.get("target_type")}


def patient_of(resource: dict | bytes) -> str | None:
    """The one patient a resource belongs to, by its compartment references (a stored version's:
    from its kept facts)."""
    found = version_facts(resource).compartment if isinstance(resource, bytes) else compartment_of(resource)
    return f"Patient/{next(iter(found))}" if len(found) == 1 else None


# Kept per (type, patients): `$everything` builds its statements per request for callers with an
# access clause, and a directory type's part (~4 ms to build) is the same for all of them (their
# patient is a bound parameter).
@functools.lru_cache(maxsize=64)
def in_record(res_type: str, patients):
    """What of `res_type` belongs to the clients' record, as a clause over `resources` (whoever
    asks; `restrict` decides what the caller sees of it): the Patient itself, the patient
    compartment, and directory entries the clinical record points at (Patient/$everything).
    `patients`: their ids, or bound parameters for them."""
    scope = _referenced_from(res_type, patients) if res_type in DIRECTORY else _compartment(res_type, patients)
    return scope if scope is not None else false()


# Kept per (type, patients): building one took ~250 µs (a carer's first request, a Consent-cache
# miss, builds one per type it reads), and a client's is the same for each of their carers.
@functools.lru_cache(maxsize=1024)
def _compartment(res_type: str, patient_ids):
    if res_type == "Patient":
        return resources.c.res_id.in_(patient_ids)
    fixed = _in_compartment(res_type)
    if fixed is None:
        return None
    r = idx_reference
    one = isinstance(patient_ids, tuple) and len(patient_ids) == 1
    return resources.c.rid.in_(select(r.c.rid).where(
        *fixed, r.c.target_id == patient_ids[0] if one else r.c.target_id.in_(patient_ids)))


@functools.lru_cache(maxsize=32)
def _in_compartment(res_type: str) -> tuple | None:
    """The part of a compartment lookup that depends on the type alone, built once."""
    params = COMPARTMENT.get(res_type)
    if params is None:
        return None
    r = idx_reference
    return r.c.res_type == res_type, r.c.param.in_(params), r.c.target_type == "Patient"


# What puts a directory entry (practitioner, role, organisation) into a client's record:
# the clinical record, never an AuditEvent, a Provenance or a reference an informal carer wrote.
CLINICAL_RECORD = ("CareTeam", "CarePlan", "Goal", "Consent")
PROFESSIONAL_SENDERS = ("Practitioner", "PractitionerRole", "Organization")


def _record_rids(patient_ids: tuple[str, ...]):
    """The rows of the patients' clinical record, as one SELECT of rids: their Patient resource,
    CareTeams, CarePlans, Goals and Consents, and messages sent by professionals (carers must send
    as themselves). A UNION of lookups by patient, so the database starts from the patients' few
    rows (an OR of IN-lists over all professional messages grew with the database)."""
    r = idx_reference
    in_compartment = and_(r.c.target_type == "Patient", r.c.target_id.in_(patient_ids))
    clinical = select(r.c.rid).where(in_compartment, or_(*(
        and_(r.c.res_type == t, r.c.param.in_(COMPARTMENT[t])) for t in CLINICAL_RECORD)))
    sender = idx_reference.alias()
    from_professionals = (select(r.c.rid).join(sender, sender.c.rid == r.c.rid)
                          .where(in_compartment, r.c.res_type == "Communication",
                                 r.c.param.in_(COMPARTMENT["Communication"]), sender.c.param == "sender",
                                 sender.c.target_type.in_(PROFESSIONAL_SENDERS)))
    patient_rows = select(resources.c.rid).where(resources.c.res_type == "Patient",
                                                 resources.c.res_id.in_(patient_ids))
    return union(clinical, from_professionals, patient_rows)


# Kept per (type, patients), as `_compartment` is: building one took ~2 ms, and a carer's clause for
# each directory type (shared by their shape, their client a bound parameter) built it again on
# every Consent-cache miss: a sixth of a carer's `$everything` at 300 clients (in process).
@functools.lru_cache(maxsize=256)
def _referenced_from(res_type: str, patient_ids: tuple[str, ...]):
    """Directory entries the patients' clinical record points at, directly or through a
    PractitionerRole it points at."""
    r = idx_reference
    # From the record's few rows to their references (by rid), never the other way round: all
    # references to a Practitioner in the database are far more than one client's record.
    # `unindexed` keeps SQLite (no statistics) from starting at the target_type index instead:
    # measured at 300 clients, 20-150 ms per directory type that way, under 2 ms this way.
    record = _record_rids(patient_ids)

    def targets(rids, target_type: str):
        return select(r.c.target_id).where(r.c.rid.in_(rids), r.c.param == REF,
                                           unindexed(r.c.target_type) == target_type)
    role_rids = select(resources.c.rid).where(resources.c.res_type == "PractitionerRole",
                                              resources.c.res_id.in_(targets(record, "PractitionerRole")))
    return resources.c.res_id.in_(union(targets(record, res_type), targets(role_rids, res_type)))


SOURCE_URI_PREFIX = "urn:samenzorg:source:"  # connectors.config.Source.uri


def _from_source(resource: dict | None) -> bool:
    source = ((resource or {}).get("meta") or {}).get("source")
    return isinstance(source, str) and source.startswith(SOURCE_URI_PREFIX)
