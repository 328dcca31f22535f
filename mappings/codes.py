"""Code systems, codes and identifier systems of the care-network mapping.

Dutch national codes come from ../shared/context/dutch-codes.md (zib 2020,
Nictiz). Everything under SAMENZORG is our own addition: the national lists
have no code for these concepts, so we publish our own (see README.md).
"""
from __future__ import annotations

# --- identifier systems (NamingSystem URIs, dutch-codes.md section 2) ---
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"  # persons and organisations alike
UZI = "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"
BIG = "http://fhir.nl/fhir/NamingSystem/big"
URA = "http://fhir.nl/fhir/NamingSystem/ura"

# --- national and international code systems ---
SNOMED = "http://snomed.info/sct"
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
ZIB_EXTRA_ROLES = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
V3_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
LOINC = "http://loinc.org"
RESOURCE_TYPES = "http://hl7.org/fhir/resource-types"

# --- our own additions (https://samenzorg.nl/fhir/...) ---
SAMENZORG = "https://samenzorg.nl/fhir"
NETWORK_ROLE = f"{SAMENZORG}/CodeSystem/network-role"
DISCIPLINE = f"{SAMENZORG}/CodeSystem/discipline"
CARE_TASK = f"{SAMENZORG}/CodeSystem/care-task"
LOGBOOK_TOPIC = f"{SAMENZORG}/CodeSystem/logbook-topic"
OUR_CONSENT_ACTION = f"{SAMENZORG}/CodeSystem/consent-action"
EXT_AVAILABILITY = f"{SAMENZORG}/StructureDefinition/availability"
EXT_AVAILABILITY_NOTE = f"{SAMENZORG}/StructureDefinition/availability-note"
EXT_ORGANIZATION = f"{SAMENZORG}/StructureDefinition/related-person-organization"
EXT_RECORDED_BY = f"{SAMENZORG}/StructureDefinition/consent-recorded-by"

NL_CORE_CARE_TEAM = "http://nictiz.nl/fhir/StructureDefinition/nl-core-CareTeam"

# zib HelpFromOthers (CarePlan) and its SoortHulpCodelijst
HELP_FROM_OTHERS = "243114000"
HELP_INFORMAL = "386229000"  # Mantelzorg
HELP_PROFESSIONAL = "60689008"  # Professionele thuiszorg

# Informal member roles: zib RolCodelijst (COD472 + ExtraRolcodes) and ours.
INFORMAL_ROLES: dict[str, tuple[str, str]] = {
    "01": (COD472, "Eerste relatie/contactpersoon"),
    "02": (COD472, "Tweede relatie/contactpersoon"),
    "03": (COD472, "Curator (juridisch)"),
    "04": (COD472, "Financieel (gemachtigd)"),
    "05": (COD472, "Financieel (toetsing)"),
    "06": (COD472, "Leefeenheid"),
    "07": (COD472, "Hulpverlener"),
    "09": (COD472, "Anders"),
    "11": (COD472, "Voogd"),
    "14": (COD472, "Bewindvoerder"),
    "15": (COD472, "Mentor"),
    "19": (COD472, "Buur"),
    "20": (COD472, "Vriend(in)/kennis"),
    "21": (COD472, "Cliëntondersteuner"),
    "23": (COD472, "Contactpersoon"),
    "24": (COD472, "Wettelijke vertegenwoordiger"),
    "100001": (ZIB_EXTRA_ROLES, "Mantelzorger"),
    "100002": (ZIB_EXTRA_ROLES, "Geestelijk verzorger"),
    "100003": (ZIB_EXTRA_ROLES, "Tolk"),
    "100004": (ZIB_EXTRA_ROLES, "Advocaat"),
    "coordinator": (NETWORK_ROLE, "Coördinator van het netwerk"),
    "written-authorisation": (NETWORK_ROLE, "Schriftelijk gemachtigde (WGBO art. 7:465 lid 3)"),
    "volunteer": (NETWORK_ROLE, "Vrijwilliger"),
}

# Professional roles in the network: zib ZorgverlenerRolCodelijst and ours.
PROFESSIONAL_ROLES: dict[str, tuple[str, str]] = {
    "RESP": (V3_PARTICIPATION_TYPE, "Hoofdbehandelaar"),
    "REF": (V3_PARTICIPATION_TYPE, "Verwijzer"),
    "PRF": (V3_PARTICIPATION_TYPE, "Uitvoerder"),
    "SPRF": (V3_PARTICIPATION_TYPE, "Tweede uitvoerder"),
    "CON": (V3_PARTICIPATION_TYPE, "Consulent"),
    "ATND": (V3_PARTICIPATION_TYPE, "Behandelaar"),
    "768832004": (SNOMED, "Casemanager"),
    "OTH": (V3_NULL_FLAVOR, "Anders"),
    "coordinator": (NETWORK_ROLE, "Coördinator van het netwerk"),
}

# Counted as legal representatives for care decisions (dutch-codes.md 1a:
# our reading) — they may decide on sharing for the client.
LEGAL_REPRESENTATIVE_ROLES = frozenset({"03", "11", "15", "24", "written-authorisation"})

# zib RelatieCodelijst (family relationship).
RELATIONSHIPS: dict[str, tuple[str, str]] = {
    code: (V3_ROLE_CODE, display) for code, display in {
        "ADOPTF": "Adoptievader", "ADOPTM": "Adoptiemoeder", "AUNT": "Tante", "UNCLE": "Oom",
        "BRO": "Broer", "SIS": "Zuster", "BROINLAW": "Zwager", "SISINLAW": "Schoonzuster",
        "COUSN": "Neef/nicht", "NEPHEW": "Neef", "NIECE": "Nicht", "DOMPART": "Partner",
        "DAUC": "Dochter", "SONC": "Zoon", "DAUINLAW": "Schoondochter", "SONINLAW": "Schoonzoon",
        "FTH": "Vader", "MTH": "Moeder", "FTHINLAW": "Schoonvader", "MTHINLAW": "Schoonmoeder",
        "DAUFOST": "Pleegdochter", "SONFOST": "Pleegzoon", "FTHFOST": "Pleegvader",
        "MTHFOST": "Pleegmoeder", "GRNDDAU": "Kleindochter", "GRNDSON": "Kleinzoon",
        "GRFTH": "Opa", "GRMTH": "Oma", "GGRFTH": "Overgrootvader", "GGRMTH": "Overgrootmoeder",
        "HUSB": "Echtgenoot", "WIFE": "Echtgenote", "STPFTH": "Stiefvader", "STPMTH": "Stiefmoeder",
    }.items()
}
RELATIONSHIPS["OTH"] = (V3_NULL_FLAVOR, "Anders")

DISCIPLINES: dict[str, str] = {
    "huisarts": "Huisarts",
    "praktijkondersteuner": "Praktijkondersteuner huisarts (POH)",
    "wijkverpleegkundige": "Wijkverpleegkundige",
    "verpleegkundige": "Verpleegkundige",
    "verzorgende-ig": "Verzorgende IG",
    "casemanager-dementie": "Casemanager dementie",
    "specialist-ouderengeneeskunde": "Specialist ouderengeneeskunde",
    "fysiotherapeut": "Fysiotherapeut",
    "ergotherapeut": "Ergotherapeut",
    "dietist": "Diëtist",
    "apotheker": "Apotheker",
    "maatschappelijk-werker": "Maatschappelijk werker",
    "wmo-consulent": "Wmo-consulent",
}

CARE_TASKS: dict[str, str] = {
    "personal-care": "Persoonlijke verzorging",
    "household": "Huishouden",
    "shopping": "Boodschappen",
    "meals": "Maaltijden",
    "medication-reminder": "Herinneren aan medicatie",
    "transport": "Vervoer en begeleiding",
    "company": "Gezelschap en sociaal contact",
    "supervision": "Toezicht",
    "administration": "Administratie en post",
    "nursing": "Verpleging",
    "coordination": "Coördinatie en overleg",
    "other": "Anders",
}

LOGBOOK_TOPICS: dict[str, str] = {
    "observation": "Observatie",
    "wellbeing": "Welbevinden",
    "meals": "Eten en drinken",
    "medication": "Medicatie",
    "appointment": "Afspraak",
    "incident": "Incident",
    "handover": "Overdracht",
    "other": "Overig",
}

# Sharing parts and the resource types each part shows (Consent classes).
CARE_TEAM_CLASSES = ("CareTeam", "Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization")
PART_CLASSES: dict[str, tuple[str, ...]] = {
    "care-team": CARE_TEAM_CLASSES,
    "agreements": ("CarePlan",),
    "goals": ("Goal",),
    "logbook": ("Communication",),
}
SHARING_PARTS = ("care-team", "agreements", "own-agreements", "goals", "logbook", "contribute-logbook")

AGREEMENT_STATUSES = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
# CarePlan.activity.detail.status is required; it follows the plan's status.
ACTIVITY_STATUS = {
    "draft": "not-started", "active": "in-progress", "on-hold": "on-hold", "revoked": "cancelled",
    "completed": "completed", "entered-in-error": "entered-in-error", "unknown": "unknown",
}
GOAL_STATUSES = ("proposed", "planned", "accepted", "active", "on-hold", "completed",
                 "cancelled", "entered-in-error", "rejected")
NETWORK_STATUSES = ("proposed", "active", "suspended", "inactive", "entered-in-error")
DAYS_OF_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIMING_UNITS = ("s", "min", "h", "d", "wk", "mo", "a")

# Older senders write COD472 codes 1..9 without the leading zero (erratum ZIB-1378).
LEGACY_ROLE_CODES = {str(n): f"0{n}" for n in range(1, 10)}


def normalise_role(code: str) -> str:
    return LEGACY_ROLE_CODES.get(code, code)


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def role_concept(code: str, table: dict[str, tuple[str, str]]) -> dict:
    system, display = table[code]
    return {"coding": [coding(system, code, display)]}


def is_legal_representative(related_person: dict) -> bool:
    """Whether a RelatedPerson's roles make it a legal representative (Wgbo order:
    being the main family carer alone does not)."""
    for concept in related_person.get("relationship") or []:
        for c in concept.get("coding") or []:
            code = normalise_role(c.get("code") or "")
            if code in LEGAL_REPRESENTATIVE_ROLES and INFORMAL_ROLES[code][0] == c.get("system"):
                return True
    return False
