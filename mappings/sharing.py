"""Sharing choice <-> Consent, in the one shape the consent engine evaluates.

A base `deny` with nested `permit`s, all for the same actor and period:
  1. access to the classes of the shared parts (absent when none of them is shared),
  2. access to CarePlan, limited to data instances: the member's own agreements,
  3. the `contribute` action on Communication: adding logbook entries.
A permit is only written when it has classes, because a permit without a
class would open every resource type.
"""
from __future__ import annotations

from collections.abc import Callable

from . import codes
from .errors import MappingError


def _period(choice: dict) -> dict:
    return {key: choice["period"][key] for key in ("start", "end") if key in choice["period"]}


def _permit(choice: dict, actor_ref: str, action: dict, classes, data_refs=()) -> dict:
    permit = {
        "type": "permit",
        "period": _period(choice),
        "actor": [{"role": {"coding": [{"system": codes.V3_PARTICIPATION_TYPE, "code": "IRCP"}]},
                   "reference": {"reference": actor_ref}}],
        "action": [{"coding": [action]}],
        "class": [{"system": codes.RESOURCE_TYPES, "code": c} for c in classes],
    }
    if data_refs:
        permit["data"] = [{"meaning": "instance", "reference": {"reference": r}} for r in data_refs]
    return permit


ACCESS = {"system": codes.CONSENT_ACTION, "code": "access"}
CONTRIBUTE = {"system": codes.OUR_CONSENT_ACTION, "code": "contribute"}


def sharing_to_consent(choice: dict, *, identifier: dict, patient_ref: str, performer_ref: str,
                       actor_ref: str, organization_ref: str | None, recorder_ref: str | None,
                       own_agreement_refs: list[str]) -> dict:
    parts = choice["parts"]
    classes = [c for part in parts for c in codes.PART_CLASSES.get(part, ())]
    permits = []
    if classes:
        permits.append(_permit(choice, actor_ref, ACCESS, classes))
    if "own-agreements" in parts:
        if not own_agreement_refs:
            raise MappingError("'own-agreements' without agreements would open every CarePlan.")
        permits.append(_permit(choice, actor_ref, ACCESS, ["CarePlan"], own_agreement_refs))
    if "contribute-logbook" in parts:
        permits.append(_permit(choice, actor_ref, CONTRIBUTE, ["Communication"]))
    consent = {
        "resourceType": "Consent",
        "identifier": [identifier],
        "status": "active" if choice["status"] == "active" else "inactive",
        "scope": {"coding": [{"system": codes.CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": codes.LOINC, "code": "59284-0"}]}],
        "patient": {"reference": patient_ref},
        "dateTime": choice["recordedAt"],
        "performer": [{"reference": performer_ref}],
        **({"organization": [{"reference": organization_ref}]} if organization_ref else {}),
        "policyRule": {"coding": [{"system": codes.V3_ACT_CODE, "code": "OPTIN"}]},
        "provision": {"type": "deny", "provision": permits},
    }
    if recorder_ref:
        consent["extension"] = [{"url": codes.EXT_RECORDED_BY, "valueReference": {"reference": recorder_ref}}]
    return consent


def _codes(concepts: list[dict]) -> set[tuple[str, str]]:
    return {(c.get("system"), c.get("code")) for concept in concepts for c in concept.get("coding") or []}


def consent_to_sharing(consent: dict, ecd_id: str, member_of: Callable[[dict], str]) -> dict:
    """`member_of` turns a Reference into a member id or 'client'."""
    permits = (consent.get("provision") or {}).get("provision") or []
    if not permits:
        raise MappingError(f"Consent {ecd_id!r} permits nothing; a sharing choice shares at least one part.")
    parts: set[str] = set()
    members = set()
    for permit in permits:
        if permit.get("type") != "permit" or not permit.get("actor"):
            raise MappingError(f"Consent {ecd_id!r}: every nested provision must be a permit for one actor.")
        members.add(member_of(permit["actor"][0].get("reference")))
        actions = _codes(permit.get("action") or [])
        classes = {c.get("code") for c in permit.get("class") or []}
        if (CONTRIBUTE["system"], CONTRIBUTE["code"]) in actions:
            parts.add("contribute-logbook")
        elif permit.get("data"):
            parts.add("own-agreements")
        else:
            parts.update(part for part, cls in codes.PART_CLASSES.items() if cls[0] in classes)
    if len(members) != 1:
        raise MappingError(f"Consent {ecd_id!r} names more than one actor.")
    choice = {
        "id": ecd_id,
        "member": members.pop(),
        "parts": [p for p in codes.SHARING_PARTS if p in parts],
        "period": dict(permits[0].get("period") or {}),
        "decidedBy": member_of((consent.get("performer") or [{}])[0]),
        "recordedAt": consent.get("dateTime"),
        # Anything but active (draft, rejected, inactive, ...) must not grant access: read it as revoked.
        "status": "active" if consent.get("status") == "active" else "revoked",
    }
    for ext in consent.get("extension") or []:
        if ext.get("url") == codes.EXT_RECORDED_BY:
            choice["recordedBy"] = member_of(ext.get("valueReference"))
    return choice
