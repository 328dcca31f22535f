"""Each search parameter type, its modifiers and prefixes, OR and AND, escaping."""
import pytest

BSN = "http://fhir.nl/fhir/NamingSystem/bsn"


@pytest.fixture
def people(store):
    store.put({"resourceType": "Patient", "id": "anna", "active": True, "gender": "female",
               "birthDate": "1938-04-12",
               "identifier": [{"system": BSN, "value": "111"}, {"value": "local-7"}],
               "name": [{"family": "de Vriës", "given": ["Anna"]}],
               "telecom": [{"system": "phone", "value": "0612345678"}],
               "meta": {"tag": [{"system": "urn:samenzorg", "code": "demo"}],
                        "profile": ["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]}})
    store.put({"resourceType": "Patient", "id": "bert", "active": False, "gender": "male",
               "birthDate": "1941",
               "identifier": [{"system": BSN, "value": "222"}],
               "name": [{"family": "Vries", "given": ["Bert", "Jan"]}],
               "telecom": [{"system": "email", "value": "bert@example.nl"}]})
    store.put({"resourceType": "Patient", "id": "cor", "gender": "male",
               "name": [{"family": "Smit, van der", "given": ["Cor"]}]})
    return store


def found(store, query, rtype="Patient"):
    return sorted(store.ids(rtype, query))


# -- token -------------------------------------------------------------------

def test_token_code_alone_matches_any_system(people):
    assert found(people, "identifier=111") == ["anna"]


def test_token_system_and_code_must_both_match(people):
    assert found(people, f"identifier={BSN}|222") == ["bert"]
    assert found(people, "identifier=urn:other|222") == []


def test_token_bar_code_matches_only_values_without_a_system(people):
    assert found(people, "identifier=|local-7") == ["anna"]
    assert found(people, "identifier=|111") == []


def test_token_system_bar_matches_any_code_in_that_system(people):
    assert found(people, f"identifier={BSN}|") == ["anna", "bert"]


def test_token_not_matches_resources_without_that_code_including_those_without_any(people):
    assert found(people, "active:not=true") == ["bert", "cor"]


def test_token_text_searches_the_display_text(store):
    store.put({"resourceType": "CarePlan", "id": "c1", "status": "active", "intent": "plan",
               "subject": {"reference": "Patient/x"},
               "category": [{"coding": [{"system": "urn:c", "code": "z", "display": "Mantelzorg"}],
                             "text": "Zorgplan thuis"}]})
    assert found(store, "category:text=zorgpl", "CarePlan") == ["c1"]
    assert found(store, "category:text=MANTELZORG", "CarePlan") == ["c1"]
    assert found(store, "category:text=thuis", "CarePlan") == []


def test_token_missing_finds_resources_with_or_without_the_element(people):
    assert found(people, "active:missing=true") == ["cor"]
    assert found(people, "active:missing=false") == ["anna", "bert"]


def test_boolean_and_code_elements_are_searchable_as_tokens(people):
    assert found(people, "active=true") == ["anna"]
    assert found(people, "gender=male") == ["bert", "cor"]


def test_contact_points_are_searchable_by_value_and_by_kind(people):
    assert found(people, "telecom=0612345678") == ["anna"]
    assert found(people, "telecom=email|bert@example.nl") == ["bert"]
    assert found(people, "email=bert@example.nl") == ["bert"]
    assert found(people, "phone=bert@example.nl") == []


def test_tag_and_profile_are_searchable(people):
    assert found(people, "_tag=urn:samenzorg|demo") == ["anna"]
    assert found(people, "_profile=http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient") == ["anna"]
    assert found(people, "_profile:below=http://nictiz.nl/fhir/") == ["anna"]
    assert found(people, "_profile:missing=true") == ["bert", "cor"]


def test_id_matches_one_or_several_ids(people):
    assert found(people, "_id=bert") == ["bert"]
    assert found(people, "_id=bert,cor,nobody") == ["bert", "cor"]


# -- string ------------------------------------------------------------------

def test_string_search_is_starts_with_and_ignores_case_and_accents(people):
    assert found(people, "family=VRIES") == ["bert"]
    assert found(people, "family=de vries") == ["anna"]
    assert found(people, "name=de") == ["anna"]


def test_string_contains_finds_text_anywhere(people):
    assert found(people, "family:contains=vries") == ["anna", "bert"]


def test_string_exact_is_case_and_accent_sensitive(people):
    assert found(people, "family:exact=de Vriës") == ["anna"]
    assert found(people, "family:exact=de Vries") == []
    assert found(people, "family:exact=de") == []


def test_string_search_treats_like_wildcards_literally(people):
    assert found(people, "family=%") == []
    assert found(people, "family:contains=_") == []


def test_name_matches_any_part_of_the_name(people):
    assert found(people, "name=jan") == ["bert"]
    assert found(people, "given=jan") == ["bert"]


def test_string_missing(people):
    assert found(people, "given:missing=false") == ["anna", "bert", "cor"]
    assert found(people, "address:missing=true") == ["anna", "bert", "cor"]


# -- OR, AND and escaping ----------------------------------------------------

def test_commas_or_values_of_one_parameter(people):
    assert found(people, "given=anna,cor") == ["anna", "cor"]


def test_repeated_parameters_and_their_conditions(people):
    assert found(people, "gender=male&given=bert") == ["bert"]
    assert found(people, "given=jan&given=bert") == ["bert"]
    assert found(people, "given=anna&given=bert") == []


def test_an_escaped_comma_is_part_of_the_value(people):
    assert found(people, "family=smit\\, van") == ["cor"]
    assert found(people, "family=smit,anna") == ["cor"]


# -- date --------------------------------------------------------------------

@pytest.mark.parametrize("query,expected", [
    ("birthdate=1938-04-12", ["anna"]),
    ("birthdate=1938-04", ["anna"]),
    ("birthdate=1938", ["anna"]),
    ("birthdate=eq1941", ["bert"]),
    ("birthdate=1941-06-01", []),  # the target (all of 1941) is not inside that day
    ("birthdate=ne1941", ["anna"]),
    ("birthdate=lt1941-01-01", ["anna"]),
    ("birthdate=gt1938-04-12", ["bert"]),
    ("birthdate=ge1938-04-12", ["anna", "bert"]),
    ("birthdate=le1938-04-12", ["anna"]),
    ("birthdate=le1941-06-01", ["anna", "bert"]),  # 1941 reaches before June 1941
    ("birthdate=gt1941-06-01", ["bert"]),  # ... and past it
    ("birthdate=sa1938-04-12", ["bert"]),
    ("birthdate=sa1941-06-01", []),
    ("birthdate=eb1941", ["anna"]),
    ("birthdate=eb1938-04-12", []),
    # ap: within 10% of the distance to now, so ~9 years either side here
    ("birthdate=ap1938-04-10", ["anna", "bert"]),
    ("birthdate=ap1920", []),
    ("birthdate=ge1938-01-01&birthdate=lt1939-01-01", ["anna"]),
    ("birthdate=1938,1941", ["anna", "bert"]),
    ("birthdate:missing=true", ["cor"]),
])
def test_date_prefixes_follow_r4_range_semantics(people, query, expected):
    assert found(people, query) == expected


@pytest.fixture
def teams(store):
    store.put({"resourceType": "CareTeam", "id": "open", "period": {"start": "2026-03-01"}})
    store.put({"resourceType": "CareTeam", "id": "march", "period": {"start": "2026-03-01", "end": "2026-03-31"}})
    store.put({"resourceType": "CareTeam", "id": "until-feb", "period": {"end": "2026-02-15"}})
    return store


@pytest.mark.parametrize("query,expected", [
    ("date=2026-03", ["march"]),  # only the closed period lies within March
    ("date=gt2026-06-01", ["open"]),
    ("date=lt2026-03-01", ["until-feb"]),
    ("date=ge2026-03-15", ["march", "open"]),
    ("date=le2026-01-01", ["until-feb"]),
    ("date=sa2026-02-20", ["march", "open"]),
    ("date=eb2026-03-01", ["until-feb"]),
    ("date=ne2026-03", ["open", "until-feb"]),
    ("date=ap2026-03-20", ["march", "open"]),
])
def test_periods_with_open_ends_are_unbounded_ranges(teams, query, expected):
    assert found(teams, query, "CareTeam") == expected


def test_datetimes_with_time_zones_compare_as_instants_and_dates_are_dutch_days(store):
    store.put({"resourceType": "Communication", "id": "m", "status": "completed",
               "sent": "2026-03-05T00:30:00+01:00"})  # 23:30 UTC on the 4th, just after midnight in Ede
    assert found(store, "sent=2026-03-04", "Communication") == []
    assert found(store, "sent=2026-03-05", "Communication") == ["m"]
    assert found(store, "sent=2026-03-04T23:30:00Z", "Communication") == ["m"]
    assert found(store, "sent=ge2026-03-04T23:30:00Z", "Communication") == ["m"]
    assert found(store, "sent=gt2026-03-04T23:30:00Z", "Communication") == []


def test_last_updated_is_searchable_with_prefixes(people):
    # The store stamps anna, bert and cor one second apart from 12:00:01.
    assert found(people, "_lastUpdated=2026-01-01") == ["anna", "bert", "cor"]
    assert found(people, "_lastUpdated=gt2026-01-01T12:00:01Z") == ["bert", "cor"]
    assert found(people, "_lastUpdated=ge2026-01-01T12:00:02Z") == ["bert", "cor"]
    assert found(people, "_lastUpdated=lt2026-01-01T12:00:02Z") == ["anna"]
    assert found(people, "_lastUpdated=le2026-01-01T12:00:02Z") == ["anna", "bert"]
    assert found(people, "_lastUpdated=eq2026-01-01T12:00:02Z") == ["bert"]
    assert found(people, "_lastUpdated=ne2026-01-01T12:00:02Z") == ["anna", "cor"]
    assert found(people, "_lastUpdated=sa2026-01-01T12:00:02Z") == ["cor"]
    assert found(people, "_lastUpdated=eb2026-01-01T12:00:02Z") == ["anna"]
    assert found(people, "_lastUpdated=ap2026-01-01") == ["anna", "bert", "cor"]


# -- reference ---------------------------------------------------------------

@pytest.fixture
def plans(store):
    store.put({"resourceType": "CarePlan", "id": "c1", "status": "active", "intent": "plan",
               "subject": {"reference": "Patient/anna"}, "careTeam": [{"reference": "CareTeam/t1"}]})
    store.put({"resourceType": "CarePlan", "id": "c2", "status": "draft", "intent": "plan",
               "subject": {"reference": "Group/anna"}})
    store.put({"resourceType": "CarePlan", "id": "c3", "status": "active", "intent": "plan",
               "subject": {"reference": "http://test/fhir/Patient/bert"}})
    store.put({"resourceType": "CarePlan", "id": "c4", "status": "active", "intent": "plan",
               "subject": {"reference": "http://elsewhere/fhir/Patient/anna"}})
    return store


def test_reference_by_type_and_id(plans):
    assert found(plans, "subject=Patient/anna", "CarePlan") == ["c1"]
    assert found(plans, "subject=Group/anna", "CarePlan") == ["c2"]


def test_reference_by_bare_id_matches_any_allowed_target_type(plans):
    assert found(plans, "subject=anna", "CarePlan") == ["c1", "c2"]
    assert found(plans, "patient=anna", "CarePlan") == ["c1"]


def test_reference_type_modifier_narrows_a_bare_id(plans):
    assert found(plans, "subject:Group=anna", "CarePlan") == ["c2"]


def test_reference_by_our_own_full_url_matches_relative_and_absolute_references(plans):
    assert found(plans, "subject=http://test/fhir/Patient/anna", "CarePlan") == ["c1"]
    assert found(plans, "subject=Patient/bert", "CarePlan") == ["c3"]


def test_references_to_other_servers_match_only_by_their_full_url(plans):
    assert found(plans, "subject=http://elsewhere/fhir/Patient/anna", "CarePlan") == ["c4"]


def test_reference_missing(plans):
    assert found(plans, "care-team:missing=false", "CarePlan") == ["c1"]
    assert found(plans, "care-team:missing=true", "CarePlan") == ["c2", "c3", "c4"]


def test_reference_or_values(plans):
    assert found(plans, "subject=Patient/anna,Patient/bert", "CarePlan") == ["c1", "c3"]


def test_deleted_resources_never_match(people):
    people.delete("Patient", "bert")
    assert found(people, "gender=male") == ["cor"]
    assert found(people, "") == ["anna", "cor"]
