"""Property-based fuzzing of search through real HTTP (hypothesis, deterministic, bounded).

Every search parameter of every served type (read from the registry), with every modifier and
prefix, chains, `_has` and the result parameters, with plausible and hostile values (SQL, quotes,
regex metacharacters, unicode incl. astral and right-to-left, NUL, huge numbers, very long
strings, many OR values, repeated parameters), over GET and POST `_search`, as a system client
and as a carer (the daughter, whose Consent permits part of her mother's record). What must hold:

- never a 500;
- every 4xx is an OperationOutcome, every 200 a searchset Bundle;
- what the carer finds (every page) is a subset of what the system client finds for the same
  query, and her total is never larger.
"""
from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.search.limits import MAX_CHAIN, MAX_OR_VALUES, MAX_PARAMETERS
from gateway.search.registry import REGISTRY, SYSTEM

FUZZ = dict(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TYPES = sorted(REGISTRY)
MAX_PAGES = 40

# -- values ------------------------------------------------------------------------------

HOSTILE = [
    "'", '"', "' OR '1'='1", "1) OR (1=1", "x'; DROP TABLE resources; --", "%", "_", "%_%", "\\", "\\\\",
    "\\,", "\\|", "\\$", "a\\", ".*", "(a|b)+$", "[", "^$", "(?i)x", "\x00", "a\x00b", "\x1f", "\t",
    "\r\n", "𝕏🛒", "\U0010ffff", "\u202eevil\u202c", "مرحبا", "ß", "ÉÈ", "ﬁ", "\u0301", "9" * 40,
    "-1", "1e309", "NaN", "-0", "x" * 5000, "é" * 300, "|", "||", "a|b|c", ",", "a,,b", "$", "/",
    "Patient/", "Patient/moeder/_history/1", "http://", "urn:uuid:", "null", "true", "*", "T", " ",
]
DATES = ["2026", "2026-03", "2026-03-01", "2026-03-01T10:00", "2026-03-01T10:00:00Z",
         "2026-03-01T10:00:00.123456789+01:00", "2026-03-01T10:00:00 01:00", "0001", "0001-01-01T00:00:00Z",
         "9999", "9999-12-31T23:59:59-14:00", "2026-02-30", "2026-13", "10000", "2026-3-1", "1938-04-12"]
PREFIXES = ["", "eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap", "xx", "EQ"]
PLAUSIBLE = {
    "token": ["active", "female", "http://snomed.info/sct|736353004", "http://snomed.info/sct|", "|active",
              "http://fhir.nl/fhir/NamingSystem/bsn|111222333", "phone|0612345678", "0612345678", "R",
              "http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R", "zorg", "true"],
    "string": ["de", "de Vries", "vries", "Visser", "Jo", "Utrecht", "3511", "dorpsstraat", "thuis", "DE VRIES"],
    "reference": ["Patient/moeder", "moeder", "vader", "RelatedPerson/dochter", "dochter", "PractitionerRole/rol-wv",
                  "CarePlan/medicatie", "CareTeam/team-moeder", "http://localhost/fhir/Patient/moeder",
                  "http://elders.example/fhir/Patient/moeder", "Group/1", "urn:uuid:1", "Patient/moeder/_history/1"],
    "date": [p + d for p in ("", "ge", "lt", "ap") for d in DATES[:6]],
    "uri": ["http://x", "https://samenzorg.nl", "http://hl7.org/fhir/StructureDefinition/Patient", "urn:x"],
}
MODIFIERS = ["", "", "", "not", "text", "missing", "exact", "contains", "below", "above", "in", "not-in",
             "identifier", "of-type", "iterate", "Patient", "RelatedPerson", "Practitioner", "nope", "NOT"]
CHARS = st.characters(blacklist_categories=("Cs",))  # lone surrogates cannot be sent over HTTP


def one_value(kind: str | None):
    options = [st.sampled_from(HOSTILE), st.text(CHARS, max_size=30)]
    if kind is not None:
        options = [st.sampled_from(PLAUSIBLE[kind])] * 3 + options
    if kind == "date":
        options.append(st.builds(lambda p, d: p + d, st.sampled_from(PREFIXES), st.sampled_from(DATES)))
    if kind in ("token", "string", "reference"):
        options.append(st.sampled_from(["true", "false", "maybe"]))  # for :missing
    return st.one_of(*options)


def values(kind: str | None):
    """One value, a few OR-ed, or (rarely) more OR values than allowed."""
    few = st.lists(one_value(kind), min_size=1, max_size=3).map(",".join)
    many = st.builds(lambda v, n: ",".join([v] * n), one_value(kind), st.integers(MAX_OR_VALUES - 2, MAX_OR_VALUES + 3))
    return st.one_of(few, few, few, many)


# -- parameter names ---------------------------------------------------------------------

def params_of(rtype: str | None) -> dict:
    return REGISTRY[rtype] if rtype else SYSTEM


def references(rtype: str) -> list:
    return [p for p in REGISTRY[rtype].values() if p.type == "reference"]


@st.composite
def chain(draw, rtype: str, depth: int):
    """`ref[:Type].….param` or `_has:Src:ref:…`, up to one link past the limit."""
    if depth > MAX_CHAIN + 1 or not references(rtype) or draw(st.integers(0, 3)) == 0:
        p = draw(st.sampled_from(sorted(params_of(rtype).values(), key=lambda p: p.name)))
        return p.name + draw(st.sampled_from(["", "", ":exact", ":not", ":missing", ":Patient"])), p.type
    if draw(st.booleans()):
        ref = draw(st.sampled_from(references(rtype)))
        targets = [t for t in ref.targets if t in REGISTRY]
        target = draw(st.sampled_from(targets)) if targets else rtype
        typed = draw(st.booleans())
        inner, kind = draw(chain(target, depth + 1))
        return f"{ref.name}{':' + target if typed else ''}.{inner}", kind
    sources = [(s, p) for s in TYPES for p in references(s) if rtype in p.targets]
    if not sources:
        return draw(chain(rtype, MAX_CHAIN + 2))
    source, ref = draw(st.sampled_from(sources))
    inner, kind = draw(chain(source, depth + 1))
    return f"_has:{source}:{ref.name}:{inner}", kind


@st.composite
def pair(draw, rtype: str | None):
    """One (name, value) pair of a query."""
    choice = draw(st.integers(0, 9))
    params = sorted(params_of(rtype).values(), key=lambda p: p.name)
    if choice <= 4:  # a parameter of the type, with any modifier
        p = draw(st.sampled_from(params))
        modifier = draw(st.sampled_from(MODIFIERS))
        name = f"{p.name}:{modifier}" if modifier else p.name
        return name, draw(values(p.type))
    if choice <= 6 and rtype is not None:  # chains and _has
        name, kind = draw(chain(rtype, 1))
        return name, draw(values(kind))
    if choice == 7:  # result parameters
        names = sorted(params_of(rtype))
        return draw(st.sampled_from([
            ("_count", st.sampled_from(["0", "1", "2", "7", "500", "501", "100000", "-1", "1.5", "²", "9" * 30, ""])),
            ("_sort", st.lists(st.sampled_from(names + ["-" + n for n in names] + ["nope", ""]), min_size=1,
                               max_size=4).map(",".join)),
            ("_include", st.sampled_from(["*", "CarePlan:subject", "CarePlan:performer:RelatedPerson", "Nope:x",
                                          "CareTeam:participant", "Communication:based-on", "x"])),
            ("_include:iterate", st.sampled_from(["CareTeam:participant", "PractitionerRole:practitioner", "*"])),
            ("_revinclude", st.sampled_from(["Communication:based-on", "CarePlan:subject", "Provenance:target",
                                             "Consent:provision-actor", "*", "AuditEvent:entity"])),
            ("_summary", st.sampled_from(["true", "false", "text", "data", "count", "maybe"])),
            ("_elements", st.sampled_from(["id", "subject,status", "a.b", "", "name,birthDate"])),
            ("_total", st.sampled_from(["none", "estimate", "accurate", "all"])),
            ("_cursor", st.text(CHARS, max_size=40)),
            ("_type", st.lists(st.sampled_from(TYPES + ["Nope", ""]), min_size=1, max_size=3).map(",".join)),
            ("_format", st.just("json")),
        ]).flatmap(lambda nv: nv[1].map(lambda v, n=nv[0]: (n, v))))
    if choice == 8:  # a name the server does not know, or a mangled one
        return draw(st.one_of(st.sampled_from(["colour", "_filter", "_text", "_contained", "_list", "x.y",
                                               "_has", "_has:", ".", ":", "name:", "_id.x"]),
                              st.text(CHARS, min_size=1, max_size=20))), draw(values(None))
    p = draw(st.sampled_from(params))
    return p.name, draw(values(p.type))


@st.composite
def query(draw):
    """(type or None, pairs, strict handling?)"""
    rtype = draw(st.one_of(st.sampled_from(TYPES), st.just(None)))
    pairs = draw(st.lists(pair(rtype), min_size=0, max_size=4))
    if pairs and draw(st.integers(0, 9)) == 0:  # one parameter repeated up to past the limit
        pairs = pairs + [pairs[0]] * draw(st.integers(1, MAX_PARAMETERS + 5))
    return rtype, pairs, draw(st.booleans())


# -- the properties ----------------------------------------------------------------------

def _check(resp, what) -> dict | None:
    body = resp.get_json(silent=True)
    assert resp.status_code != 500, (what, body)
    assert resp.status_code < 500, (what, resp.status_code)
    if resp.status_code >= 400:
        assert body is not None and body.get("resourceType") == "OperationOutcome", (what, resp.status_code)
        return None
    assert resp.status_code == 200 and body["resourceType"] == "Bundle" and body["type"] == "searchset", what
    return body


def _run(client, rtype, pairs, post: bool, strict: bool):
    """Every page of the search; None when refused. Returns (total, {Type/id})."""
    path = f"/fhir/{rtype}" if rtype else "/fhir"
    prefer = {"Prefer": "handling=strict" if strict else "handling=lenient"}
    if post:
        resp = client.post(f"{path}/_search", data=urlencode(pairs), headers={**FORM, **prefer})
    else:
        resp = client.get(f"{path}?{urlencode(pairs)}" if pairs else path, headers=prefer)
    found, total = set(), None
    for _ in range(MAX_PAGES):
        bundle = _check(resp, (rtype, pairs, post))
        if bundle is None:
            return None
        total = bundle.get("total", total)
        found |= {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])
                  if e["search"]["mode"] != "outcome"}
        nxt = next((l["url"] for l in bundle["link"] if l["relation"] == "next"), None)
        if nxt is None:
            break
        url = urlsplit(nxt)
        resp = client.get(url.path, query_string=parse_qsl(url.query))
    return total, found


def _compare(care_network, carer, rtype, pairs, post, strict=False):
    # The carer first: her searches are audited, and the system client must see those AuditEvents too.
    mine = _run(carer, rtype, pairs, post, strict)
    everything = _run(care_network, rtype, pairs, post, strict)
    if mine is not None and everything is not None:
        assert mine[1] <= everything[1], (rtype, pairs, mine[1] - everything[1])
        if mine[0] is not None and everything[0] is not None:
            assert mine[0] <= everything[0], (rtype, pairs)


@settings(max_examples=400, **FUZZ)
@given(q=query())
def test_get_search_never_fails_and_never_shows_a_carer_more(care_network, carer, q):
    rtype, pairs, strict = q
    _compare(care_network, carer, rtype, pairs, post=False, strict=strict)


def test_filters_together_find_exactly_what_each_finds_alone(care_network, carer):
    """A search with several filters finds the intersection of what each finds alone, as the
    system client and as the carer: the database starts from one filter's rids and checks the
    others row by row (search/sql.py `_driver`), and which one it starts from must not matter.
    Not random: every filter (parameter, modifier, plausible value) that finds some but not all
    of its type, then pairs and triples of them, a sample per type."""
    rng = random.Random(14)
    for rtype in TYPES:
        every = _run(care_network, rtype, [], post=False, strict=True)[1]
        found = {}
        for p in REGISTRY[rtype].values():
            modifiers = {"token": ["", "not", "text"], "string": ["", "exact", "contains"], "uri": ["", "below"],
                         "date": [""], "reference": [""]}[p.type]
            candidates = [(f"{p.name}:{m}" if m else p.name, v) for m in modifiers for v in PLAUSIBLE[p.type]]
            candidates += [(f"{p.name}:missing", v) for v in ("true", "false")]
            for pair_ in candidates:
                result = _run(care_network, rtype, [pair_], post=False, strict=True)
                if result is not None and result[1] and result[1] != every:
                    found[pair_] = result[1]
        pool = sorted(found)
        combos = [rng.sample(pool, k) for k in (2, 2, 3) for _ in range(12) if len(pool) >= k]
        for pairs in combos:
            for client in (care_network, carer):
                together = _run(client, rtype, pairs, post=False, strict=True)
                alone = [_run(client, rtype, [pair_], post=False, strict=True) for pair_ in pairs]
                assert together[1] == set.intersection(*(a[1] for a in alone)), (rtype, pairs)
                assert together[0] == len(together[1]), (rtype, pairs)


@settings(max_examples=150, **FUZZ)
@given(q=query().filter(lambda q: q[0] is not None))
def test_post_search_never_fails_and_never_shows_a_carer_more(care_network, carer, q):
    rtype, pairs, strict = q
    _compare(care_network, carer, rtype, pairs, post=True, strict=strict)


@settings(max_examples=150, **FUZZ)
@given(data=st.data())
def test_deep_chains_and_has_never_fail(care_network, carer, data):
    rtype = data.draw(st.sampled_from([t for t in TYPES if references(t)]))
    name, kind = data.draw(chain(rtype, 0).filter(lambda nk: "." in nk[0] or nk[0].startswith("_has:")))
    _compare(care_network, carer, rtype, [(name, data.draw(values(kind)))], post=False)


HISTORY = st.sampled_from(["_history", "CarePlan/_history", "CarePlan/medicatie/_history", "Patient/moeder/_history",
                           "Communication/_history"])


@settings(max_examples=60, **FUZZ)
@given(path=HISTORY, pairs=st.lists(st.tuples(
    st.sampled_from(["_count", "_since", "_cursor", "_at", "_list", "_sort", "x"]),
    st.one_of(st.sampled_from(HOSTILE + DATES + ["1", "3", "0", "2026-01-01T00:00:00Z"]), st.text(CHARS, max_size=30))),
    max_size=3))
def test_history_never_fails_and_never_shows_a_carer_more(care_network, carer, path, pairs):
    def entries(client):
        resp = client.get(f"/fhir/{path}?{urlencode(pairs)}")
        body = resp.get_json(silent=True)
        assert resp.status_code < 500, (path, pairs, body)
        if resp.status_code >= 400:
            assert body["resourceType"] == "OperationOutcome", (path, pairs)
            return None
        seen = set()
        for _ in range(MAX_PAGES):
            seen |= {(e["fullUrl"], e["response"]["etag"]) for e in body["entry"]}
            nxt = next((l["url"] for l in body["link"] if l["relation"] == "next"), None)
            if nxt is None:
                break
            url = urlsplit(nxt)
            resp = client.get(url.path, query_string=parse_qsl(url.query))
            assert resp.status_code == 200, resp.get_json()
            body = resp.get_json()
        return seen

    mine, everything = entries(carer), entries(care_network)
    if mine is not None and everything is not None:
        assert mine <= everything, (path, pairs, mine - everything)


def test_every_parameter_with_every_modifier_and_prefix_answers(care_network, carer):
    """Not random: each parameter of each type with each modifier its type takes, each date
    prefix, and one modifier it does not take."""
    for rtype in TYPES:
        for p in REGISTRY[rtype].values():
            modifiers = {"token": ["not", "text"], "string": ["exact", "contains"], "uri": ["below"],
                         "date": [], "reference": [t for t in p.targets if t in REGISTRY][:2]}[p.type]
            variants = [(p.name, PLAUSIBLE[p.type][0]), (f"{p.name}:missing", "true"), (f"{p.name}:nope", "x")]
            variants += [(f"{p.name}:{m}", PLAUSIBLE[p.type][0].removeprefix("Patient/")) for m in modifiers]
            if p.type == "date":
                variants += [(p.name, prefix + "2026-03-01") for prefix in PREFIXES]
            for pair_ in variants:
                _compare(care_network, carer, rtype, [pair_], post=False)


EVERYTHING_PAIRS = st.lists(st.tuples(
    st.sampled_from(["start", "end", "_since", "_type", "_count", "_cursor", "_sort", "x"]),
    st.one_of(st.sampled_from(HOSTILE + DATES + TYPES + ["CarePlan,Goal", "Subscription", "1", "3", "0",
                                                          "2026-01-01T00:00:00Z", "Patient,Nope"]),
              st.text(CHARS, max_size=30))),
    max_size=4)


@settings(max_examples=120, **FUZZ)
@given(pairs=EVERYTHING_PAIRS, post=st.booleans(), patient=st.sampled_from(["moeder", "vader", "nope"]))
def test_everything_never_fails_and_never_shows_a_carer_more(care_network, carer, pairs, post, patient):
    """Patient/$everything with hostile parameters (query string or Parameters body): never a 500,
    and what the daughter gets (every page) is within what the system client gets."""
    def run(client):
        path = f"/fhir/Patient/{patient}/$everything"
        if post:
            body = {"resourceType": "Parameters", "parameter": [{"name": n, "valueString": v} for n, v in pairs]}
            resp = client.post(path, json=body, headers={"Content-Type": "application/fhir+json"})
        else:
            resp = client.get(f"{path}?{urlencode(pairs)}")
        found, total = set(), None
        for _ in range(MAX_PAGES):
            body = resp.get_json(silent=True)
            assert resp.status_code < 500, (pairs, body)
            if resp.status_code >= 400:
                assert body["resourceType"] == "OperationOutcome", (pairs, resp.status_code)
                return None
            assert body["type"] == "searchset"
            total = body["total"]
            found |= {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in body.get("entry", [])}
            nxt = next((l["url"] for l in body["link"] if l["relation"] == "next"), None)
            if nxt is None:
                break
            url = urlsplit(nxt)
            resp = client.get(url.path, query_string=parse_qsl(url.query))
        return total, found

    mine, everything = run(carer), run(care_network)
    if mine is not None and everything is not None:
        assert mine[1] <= everything[1] and mine[0] <= everything[0], (pairs, mine[1] - everything[1])


@settings(max_examples=60, **FUZZ)
@given(data=st.data())
def test_subscription_searches_show_each_owner_only_their_own(care_network, carer, mint, data):
    """Whatever a carer asks of Subscription, she finds only her own; the system client (not their
    owner) finds none of the carers' Subscriptions."""


    def subscribe(client, headers=None):
        resource = {"resourceType": "Subscription", "status": "requested", "reason": "fuzz",
                    "criteria": "Communication?patient=Patient/moeder",
                    "channel": {"type": "rest-hook", "endpoint": "https://portaal.example/hook"}}
        resp = client.post("/fhir/Subscription", json=resource,
                           headers={"Content-Type": "application/fhir+json", **(headers or {})})
        assert resp.status_code == 201, resp.get_json()
        return f"Subscription/{resp.get_json()['id']}"

    if not hasattr(carer, "_subscription"):
        carer._subscription = subscribe(carer)
        other = mint("user/*.cruds", fhir_user="RelatedPerson/buurman")
        carer._other = subscribe(care_network, {"Authorization": f"Bearer {other}"})
    pairs = data.draw(st.lists(pair("Subscription"), max_size=3))
    mine = _run(carer, "Subscription", pairs, False, False)
    theirs = _run(care_network, "Subscription", pairs, False, False)
    if mine is not None:
        assert mine[1] <= {carer._subscription}, (pairs, mine[1])
    if theirs is not None:
        assert not theirs[1], (pairs, theirs[1])
