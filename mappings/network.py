"""The CareNetwork document as marshmallow schemas.

These schemas check each field and each object on its own; references between
parts of the document (performers, authors, sharing members, ...) are checked
in `validation.py`, which sees the whole document. Field `metadata`
descriptions feed the published JSON Schema.
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from . import codes

ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
# Identifier systems end up unescaped in conditional URLs (Type?identifier=system|value).
SYSTEM_PATTERN = r"^(https?://[^\s|?#&]+[^\s|?#&/]|urn:oid:[0-2](\.[0-9]+)+)$"
PHONE_PATTERN = r"^\+?[0-9][0-9 \-()]{5,19}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MEMBER_KINDS = ("informal", "professional")


def _id(description: str, **kw) -> fields.String:
    return fields.String(validate=validate.Regexp(ID_PATTERN, error="Not a valid id: use 1-64 letters, digits, '-' or '.'."),
                         metadata={"description": description}, **kw)


def _ref(description: str, **kw) -> fields.String:
    return fields.String(validate=validate.Length(min=1), metadata={"description": description}, **kw)


def _one_of(choices, description: str, **kw) -> fields.String:
    return fields.String(validate=validate.OneOf(list(choices)), metadata={"description": description}, **kw)


def _digits(n: int, description: str) -> fields.String:
    return fields.String(validate=validate.Regexp(rf"^\d{{{n}}}$", error=f"Must be {n} digits."),
                         metadata={"description": description})


def bsn_passes_eleven_check(bsn: str) -> bool:
    if not re.fullmatch(r"\d{9}", bsn) or bsn == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(bsn[:8], range(9, 1, -1))) - int(bsn[8])
    return total % 11 == 0


def _check_bsn(value: str) -> None:
    if not bsn_passes_eleven_check(value):
        raise ValidationError("Not a valid BSN: must be 9 digits passing the 11-check (elfproef).")


class RoleCode(fields.String):
    """A role code; COD472 codes 1-9 from older senders become 01-09."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = codes.normalise_role(super()._deserialize(value, attr, data, **kwargs))
        if code not in codes.INFORMAL_ROLES and code not in codes.PROFESSIONAL_ROLES:
            raise ValidationError(f"Unknown role code {code!r}.")
        return code


class LocalTime(fields.Time):
    """A time of day without a zone, as FHIR `time` wants it."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is not None:
            raise ValidationError("A time of day must not carry a time zone.")
        return result


def _unique(values) -> None:
    values = list(values)
    if len(set(values)) != len(values):
        raise ValidationError("Values must not repeat.")


class PeriodSchema(Schema):
    start = fields.Date(metadata={"description": "First day (YYYY-MM-DD)."})
    end = fields.Date(metadata={"description": "Last day (YYYY-MM-DD), inclusive; absent while open."})

    @validates_schema
    def _start_before_end(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise ValidationError("The end lies before the start.", field_name="end")


class SharingPeriodSchema(PeriodSchema):
    start = fields.Date(required=True, metadata={"description": "First day the member may see the parts."})


class SourceSchema(Schema):
    system = fields.String(required=True, validate=validate.Regexp(SYSTEM_PATTERN, error="Not an absolute URI without '|', '?', '&', '#' or a trailing '/'."),
                           metadata={"description": "Identifier-system base of the ECD, e.g. https://ecd.example.nl/id."})


class NameSchema(Schema):
    given = fields.List(fields.String(validate=validate.Length(min=1)), metadata={"description": "Given names or initials."})
    family = fields.String(required=True, validate=validate.Length(min=1),
                           metadata={"description": "Family name including prefixes, e.g. 'de Vries'."})


class TelecomSchema(Schema):
    system = _one_of(("phone", "email"), "phone or email.", required=True)
    value = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "Number or address."})
    use = _one_of(("home", "work", "mobile"), "home, work or mobile.")

    @validates_schema
    def _value_fits_system(self, data, **kwargs):
        pattern = {"phone": PHONE_PATTERN, "email": EMAIL_PATTERN}.get(data.get("system"))
        if pattern and data.get("value") and not re.match(pattern, data["value"]):
            raise ValidationError(f"Not a valid {data['system']}.", field_name="value")


class AddressSchema(Schema):
    line = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                       validate=validate.Length(min=1), metadata={"description": "Street and house number."})
    postalCode = fields.String(required=True, validate=validate.Regexp(r"^\d{4} ?[A-Z]{2}$", error="Not a Dutch postal code."),
                               metadata={"description": "Dutch postal code, e.g. 1234 AB."})
    city = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "Place."})


class OrganizationSchema(Schema):
    id = _id("The ECD's id of the organisation.", required=True)
    name = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "Name."})
    agb = _digits(8, "AGB code of the organisation.")
    ura = _digits(8, "URA number of the organisation.")
    telecom = fields.List(fields.Nested(TelecomSchema), load_default=list, metadata={"description": "Contact details."})


class ClientSchema(Schema):
    id = _id("The ECD's id of the client.", required=True)
    bsn = fields.String(required=True, validate=_check_bsn, metadata={"description": "Burgerservicenummer (9 digits, 11-check)."})
    name = fields.Nested(NameSchema, required=True)
    birthDate = fields.Date(required=True, metadata={"description": "Date of birth (YYYY-MM-DD)."})
    gender = _one_of(("male", "female", "other", "unknown"), "Administrative gender.")
    telecom = fields.List(fields.Nested(TelecomSchema), load_default=list, metadata={"description": "Contact details."})
    address = fields.Nested(AddressSchema)
    managingOrganization = _ref("Id of the organisation (in `organizations`) responsible for the client's care.")


class AvailabilitySchema(Schema):
    daysOfWeek = fields.List(_one_of(codes.DAYS_OF_WEEK, "Day."), required=True, validate=[validate.Length(min=1), _unique],
                             metadata={"description": "mon, tue, wed, thu, fri, sat, sun."})
    start = LocalTime(metadata={"description": "From (HH:MM)."})
    end = LocalTime(metadata={"description": "Until (HH:MM)."})

    @validates_schema
    def _start_before_end(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("The end must lie after the start.", field_name="end")


class MemberSchema(Schema):
    id = _id("The ECD's id of the member (unique within the ECD).", required=True)
    kind = _one_of(MEMBER_KINDS, "informal (family, friend, neighbour, volunteer) or professional.", required=True)
    name = fields.Nested(NameSchema, required=True)
    gender = _one_of(("male", "female", "other", "unknown"), "Administrative gender.")
    relationship = _one_of(codes.RELATIONSHIPS, "Informal only: family relationship to the client (RelatieCodelijst).")
    roles = fields.List(RoleCode(), load_default=list, validate=_unique,
                        metadata={"description": "Role codes in the network (see README)."})
    organization = _ref("Id of the member's organisation: volunteer organisation or employer.")
    discipline = _one_of(codes.DISCIPLINES, "Professional only: discipline (our code system).")
    agb = _digits(8, "Professional only: AGB code of the person.")
    uzi = _digits(9, "Professional only: UZI number of the person.")
    big = _digits(11, "Professional only: BIG number.")
    telecom = fields.List(fields.Nested(TelecomSchema), load_default=list, metadata={"description": "Contact details."})
    availability = fields.List(fields.Nested(AvailabilitySchema), load_default=list, metadata={"description": "When the member can be reached or help."})
    availabilityNote = fields.String(validate=validate.Length(min=1), metadata={"description": "Exceptions, e.g. holidays."})
    period = fields.Nested(PeriodSchema, metadata={"description": "Membership of the network; an end date means leaving."})

    @validates_schema(skip_on_field_errors=False)
    def _fields_fit_kind(self, data, **kwargs):
        kind = data.get("kind")
        problems: dict = {}
        if kind == "informal":
            for name in ("discipline", "agb", "uzi", "big"):
                if name in data:
                    problems[name] = ["Only professional members have this field."]
            allowed = codes.INFORMAL_ROLES
        elif kind == "professional":
            if "relationship" in data:
                problems["relationship"] = ["Only informal members have a relationship to the client."]
            if "discipline" not in data:
                problems["discipline"] = ["A professional member needs a discipline."]
            allowed = codes.PROFESSIONAL_ROLES
        else:
            allowed = None
        if allowed is not None:
            for i, code in enumerate(data.get("roles") or []):
                if code not in allowed:
                    problems.setdefault("roles", {})[i] = [f"Role {code!r} is not a role for a {kind} member."]
        if problems:
            raise ValidationError(problems)


class RepeatSchema(Schema):
    dayOfWeek = fields.List(_one_of(codes.DAYS_OF_WEEK, "Day."), validate=_unique, metadata={"description": "mon ... sun (FHIR spells it singular here)."})
    timeOfDay = fields.List(LocalTime(), metadata={"description": "Times of day (HH:MM)."})
    frequency = fields.Integer(validate=validate.Range(min=1), metadata={"description": "Times per period."})
    period = fields.Float(validate=validate.Range(min=0, min_inclusive=False), metadata={"description": "Length of the period."})
    periodUnit = _one_of(codes.TIMING_UNITS, "Unit of the period: s, min, h, d, wk, mo, a.")
    duration = fields.Float(validate=validate.Range(min=0, min_inclusive=False), metadata={"description": "How long each time."})
    durationUnit = _one_of(codes.TIMING_UNITS, "Unit of the duration.")

    @validates_schema
    def _units_with_amounts(self, data, **kwargs):
        if not data:
            raise ValidationError("An empty repeat says nothing about when; leave the timing out instead.")
        problems = {}
        for amount, unit in (("period", "periodUnit"), ("duration", "durationUnit")):
            if (amount in data) != (unit in data):
                problems[unit if amount in data else amount] = [f"{amount} and {unit} go together."]
        if "frequency" in data and "period" not in data:
            problems["period"] = ["A frequency needs a period."]
        if problems:
            raise ValidationError(problems)


class TimingSchema(Schema):
    repeat = fields.Nested(RepeatSchema, required=True, metadata={"description": "FHIR Timing.repeat."})


class AgreementSchema(Schema):
    id = _id("The ECD's id of the agreement.", required=True)
    activity = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "What is done, short."})
    description = fields.String(validate=validate.Length(min=1), metadata={"description": "How, in more words."})
    category = _one_of(codes.CARE_TASKS, "Kind of task (our code system).", required=True)
    performers = fields.List(_ref("Member id."), required=True, validate=[validate.Length(min=1), _unique],
                             metadata={"description": "Ids of the members who perform it."})
    goals = fields.List(_ref("Goal id."), load_default=list, validate=_unique, metadata={"description": "Ids of the goals it serves."})
    timing = fields.Nested(TimingSchema, metadata={"description": "When: FHIR Timing (repeat only)."})
    period = fields.Nested(PeriodSchema, metadata={"description": "From when until when the agreement holds."})
    status = _one_of(codes.AGREEMENT_STATUSES, "CarePlan status.", load_default="active")


class GoalSchema(Schema):
    id = _id("The ECD's id of the goal.", required=True)
    description = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "The goal, in words."})
    lifecycleStatus = _one_of(codes.GOAL_STATUSES, "Goal lifecycle status.", load_default="active")
    start = fields.Date(metadata={"description": "When pursuit of the goal starts."})
    due = fields.Date(metadata={"description": "When the goal should be reached."})


class LogbookEntrySchema(Schema):
    id = _id("The ECD's id of the entry.", required=True)
    author = _ref("Member id of the writer, or 'client'.", required=True)
    time = fields.AwareDateTime(required=True, metadata={"description": "When written, with time zone."})
    text = fields.String(required=True, validate=validate.Length(min=1), metadata={"description": "The entry."})
    topic = _one_of(codes.LOGBOOK_TOPICS, "Topic (our code system).", load_default="other")
    agreement = _ref("Id of the agreement the entry is about.")


class SharingChoiceSchema(Schema):
    id = _id("The ECD's id of the sharing choice.", required=True)
    member = _ref("Id of the informal member it is for.", required=True)
    parts = fields.List(_one_of(codes.SHARING_PARTS, "Part."), required=True, validate=[validate.Length(min=1), _unique],
                        metadata={"description": "Parts of the record shared (see README)."})
    period = fields.Nested(SharingPeriodSchema, required=True)
    decidedBy = _ref("'client', or the id of the legal representative who decided.", required=True)
    recordedAt = fields.AwareDateTime(required=True, metadata={"description": "When the choice was recorded."})
    recordedBy = _ref("Member id of who recorded it, or 'client'.")
    status = _one_of(("active", "revoked"), "active or revoked.", load_default="active")

    @validates_schema
    def _agreements_one_way(self, data, **kwargs):
        if {"agreements", "own-agreements"} <= set(data.get("parts") or []):
            raise ValidationError("Share either all agreements or only the member's own, not both.", field_name="parts")

    @post_load
    def _canonical_order(self, data, **kwargs):
        data["parts"] = sorted(data["parts"], key=codes.SHARING_PARTS.index)
        return data


class CareNetworkSchema(Schema):
    source = fields.Nested(SourceSchema, required=True)
    id = _id("The ECD's id of the network (becomes the CareTeam identifier).", required=True)
    name = fields.String(validate=validate.Length(min=1), metadata={"description": "Name of the network."})
    status = _one_of(codes.NETWORK_STATUSES, "CareTeam status.", load_default="active")
    client = fields.Nested(ClientSchema, required=True)
    organizations = fields.List(fields.Nested(OrganizationSchema), load_default=list)
    members = fields.List(fields.Nested(MemberSchema), load_default=list)
    agreements = fields.List(fields.Nested(AgreementSchema), load_default=list)
    goals = fields.List(fields.Nested(GoalSchema), load_default=list)
    logbook = fields.List(fields.Nested(LogbookEntrySchema), load_default=list)
    sharing = fields.List(fields.Nested(SharingChoiceSchema), load_default=list)

    @post_load
    def _canonical_order(self, data, **kwargs):
        # A FHIR server returns search results in its own order; members keep
        # theirs because the CareTeam's participant list preserves it.
        for name in ("organizations", "agreements", "goals", "logbook", "sharing"):
            data[name] = sorted(data[name], key=lambda item: item["id"])
        return data
