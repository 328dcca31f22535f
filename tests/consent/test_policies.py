"""Consents as other systems write them: IHE basic opt-in/opt-out, policyRule only, roles."""
from consent_builders import COD472, EXTRA, RT, consent, for_r1, request, resource

from consent import Verdict, decide, start_operation

ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
MANTELZORGER = (EXTRA, "100001")
NEIGHBOUR = (COD472, "19")


def policy(code):
    return {"coding": [{"system": ACTCODE, "code": code}]}


def test_opt_in_without_provision_grants_nothing_to_informal_carers():
    optin = consent(policyRule=policy("OPTIN"))
    decision = decide([optin], request(roles=[MANTELZORGER]), resource())
    assert decision.verdict == "deny"
    assert any("no provision" in note for note in decision.notes)
    assert start_operation([optin], request()) is Verdict.REJECT


def test_opt_out_without_provision_denies_everyone_even_against_other_grants():
    optout = consent(policyRule=policy("OPTOUT"), cid="out")
    grant = consent(for_r1(), cid="grant")
    decision = decide([grant, optout], request(), resource())
    assert decision.verdict == "deny"
    assert decision.consent == "Consent/out"
    assert "opt-out" in decision.reason
    assert start_operation([optout, grant], request()) is Verdict.REJECT


def test_ihe_basic_opt_in_root_permit_names_nobody_so_grants_nothing():
    basic = consent({"type": "permit"}, policyRule=policy("OPTIN"))
    assert decide([basic], request(), resource()).verdict == "deny"


def test_ihe_basic_opt_out_root_deny_denies():
    basic = consent({"type": "deny"}, policyRule=policy("OPTOUT"))
    assert decide([basic], request(), resource()).verdict == "deny"


def test_root_permit_for_a_role_grants_everyone_holding_that_role():
    by_role = consent({"type": "permit", "actor": [
        {"role": {"coding": [{"system": EXTRA, "code": "100001"}]}}]})
    assert decide([by_role], request(roles=[MANTELZORGER]), resource()).verdict == "permit"
    assert decide([by_role], request(roles=[NEIGHBOUR]), resource()).verdict == "deny"
    assert start_operation([by_role], request(roles=[MANTELZORGER])) is Verdict.AUTHORIZED


def test_role_codes_match_in_old_unpadded_form():
    neighbours = consent({"type": "permit", "actor": [{"role": {"coding": [{"system": COD472, "code": "19"}]}}],
                          "class": [{"system": RT, "code": "CareTeam"}]})
    assert decide([neighbours], request(roles=[(COD472, "19")]), resource()).verdict == "permit"
    first_contact = consent({"type": "permit", "actor": [{"role": {"coding": [{"system": COD472, "code": "01"}]}}]})
    assert decide([first_contact], request(roles=[(COD472, "1")]), resource()).verdict == "permit"


def test_role_deny_overrides_a_root_grant_for_that_role():
    c = consent({"type": "permit", "actor": [{"role": {"coding": [{"system": EXTRA, "code": "100001"}]}}],
                 "provision": [{"type": "deny", "actor": [{"role": {"coding": [{"system": COD472, "code": "19"}]}}]}]})
    assert decide([c], request(roles=[MANTELZORGER]), resource()).verdict == "permit"
    assert decide([c], request(roles=[MANTELZORGER, NEIGHBOUR]), resource()).verdict == "deny"


def test_opt_out_policy_with_a_permit_base_rule_is_contradictory_and_denies():
    muddled = consent({"type": "permit", "actor": [{"reference": {"reference": "RelatedPerson/r1"}}]},
                      policyRule=policy("OPTOUT"))
    decision = decide([muddled], request(), resource())
    assert decision.verdict == "deny"
    assert "contradicts the opt-out" in decision.reason


def test_opt_out_with_exceptions_follows_its_provisions():
    optout = consent(for_r1(**{"class": [{"system": RT, "code": "CareTeam"}]}), policyRule=policy("OPTOUTE"))
    assert decide([optout], request(), resource("CareTeam")).verdict == "permit"
    assert decide([optout], request(), resource("Goal", "g1")).verdict == "deny"
