"""Query strings to a parsed search: filters, and how to shape the result.

Parsing never touches the database. Every problem is collected as a
`Problem` with the parameter's name. A parameter the server does not know
is the only problem lenient handling may drop (and say so); a malformed
value, an unsupported modifier or a limit exceeded refuses the search
either way (execute.py), so a filter is never silently dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from . import registry
from .limits import (DEFAULT_COUNT, MAX_CHAIN, MAX_COUNT, MAX_INCLUDES, MAX_OR_VALUES, MAX_PARAMETERS,
                     MAX_SORT_KEYS)
from .paging import PAGE, TRANSPORT
from .registry import SearchParam, lookup
from .values import STRING_MAX, URI_MAX, clip, date_range, normalise

PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")
TOKEN_MODIFIERS = {"not", "text", "missing"}
STRING_MODIFIERS = {"exact", "contains", "missing"}
DATE_MODIFIERS = {"missing"}
URI_MODIFIERS = {"below", "missing"}
# FHIR strings hold no control characters but tab, CR and LF: no stored value can match one.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
SUMMARY = ("true", "false", "text", "data", "count")
TOTALS = ("none", "estimate", "accurate")
DEFAULT_TOTAL = "accurate"


class Problem(Exception):
    """What is wrong with one parameter. `unknown`: the server does not know the parameter at
    all (the only kind `handling=lenient` may ignore); anything else is a malformed value, an
    unsupported modifier or a limit, and always refuses the search."""

    def __init__(self, name: str, message: str, *, unknown: bool = False):
        super().__init__(message)
        self.name = name
        self.message = message
        self.unknown = unknown


# -- parsed values -----------------------------------------------------------

@dataclass(frozen=True)
class Token:
    system: str | None  # None: any system; "": no system
    code: str | None  # None: any code ("system|")


@dataclass(frozen=True)
class DateValue:
    prefix: str
    low: datetime
    high: datetime | None


@dataclass(frozen=True)
class Ref:
    type: str | None  # None with id: any of the parameter's target types
    id: str | None
    url: str | None  # an absolute reference elsewhere, matched exactly


@dataclass(frozen=True)
class Filter:
    """One parameter occurrence: its values are OR-ed; occurrences are AND-ed."""

    param: SearchParam
    modifier: str | None
    values: tuple = ()
    missing: bool | None = None  # for :missing


@dataclass(frozen=True)
class Chain:
    """`ref.param=v` / `ref:Type.param=v`: the reference points at a match of `inner`."""

    param: SearchParam
    branches: tuple[tuple[str, object], ...]  # (target type, inner criterion)


@dataclass(frozen=True)
class Has:
    """`_has:Type:ref:param=v`: some Type resource, matching `inner`, points here via `ref`."""

    source_type: str
    param: SearchParam
    inner: object


@dataclass(frozen=True)
class TypeFilter:
    """`_type` at system level."""

    types: tuple[str, ...]


@dataclass(frozen=True)
class SortKey:
    param: SearchParam
    descending: bool


@dataclass(frozen=True)
class Include:
    source_type: str | None  # None: "*"
    param: SearchParam | None  # None: every reference parameter
    target_type: str | None
    iterate: bool
    reverse: bool


@dataclass
class Query:
    res_type: str | None
    criteria: list = field(default_factory=list)
    count: int = DEFAULT_COUNT
    sort: list[SortKey] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    summary: str | None = None
    elements: tuple[str, ...] = ()
    total: str = DEFAULT_TOTAL
    applied: list[tuple[str, str]] = field(default_factory=list)  # for `self`
    problems: list[Problem] = field(default_factory=list)
    cursor: str | None = None


# -- splitting ---------------------------------------------------------------

def split_unescaped(value: str, sep: str) -> list[str]:
    """Split on `sep` not preceded by a backslash; FHIR escapes are `\\,` `\\|` `\\$` `\\\\`."""
    parts, cur, i = [], "", 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur += value[i:i + 2]
            i += 2
            continue
        if ch == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


def unescape(value: str) -> str:
    return re.sub(r"\\([,|$\\])", r"\1", value)


# -- the parser --------------------------------------------------------------

def parse(res_type: str | None, params: list[tuple[str, str]], *, base_url: str = "",
          filters_only: bool = False) -> Query:
    q = Query(res_type)
    params = [(name, value) for name, value in params if name not in TRANSPORT]
    if len(params) > MAX_PARAMETERS:
        q.problems.append(Problem(params[MAX_PARAMETERS][0], f"A search takes at most {MAX_PARAMETERS} "
                                  f"parameters; this one has {len(params)}."))
        return q
    for name, value in params:
        try:
            if CONTROL.search(value):
                raise Problem(name, "A search value cannot contain control characters.")
            applied = _result_param(q, name, value, filters_only)
            if applied is None:
                q.criteria.append(criterion(res_type, name, value, base_url, depth=0))
                applied = value
            q.applied.append((name, applied))
        except Problem as p:
            # Report under the name the client sent, also for inner chain links.
            q.problems.append(Problem(name, p.message, unknown=p.unknown))
    return q


def _result_param(q: Query, name: str, value: str, filters_only: bool) -> str | None:
    """Apply a result parameter; the value as applied (for `self`), or None for a filter."""
    result_params = ("_count", "_sort", "_include", "_revinclude", "_summary", "_elements",
                     "_total", PAGE)
    base = name.split(":", 1)[0]
    if base not in result_params:
        return None
    if filters_only:
        raise Problem(name, f"'{name}' does not select resources; only filters are allowed here.")
    if name != base and base not in ("_include", "_revinclude"):
        raise Problem(name, f"'{base}' takes no modifier.")
    if base == "_count":
        q.count = capped_count(name, value)
        value = str(q.count)
    elif base == "_sort":
        keys = value.split(",")
        if q.sort or len(keys) > MAX_SORT_KEYS:
            raise Problem(name, f"_sort takes at most {MAX_SORT_KEYS} keys, in one parameter.")
        q.sort = [_sort_key(q.res_type, key) for key in keys]
    elif base in ("_include", "_revinclude"):
        if len(q.includes) >= MAX_INCLUDES:
            raise Problem(name, f"A search takes at most {MAX_INCLUDES} _include and _revinclude parameters.")
        q.includes.append(_include(q.res_type, name, value))
    elif base == "_summary":
        if value not in SUMMARY:
            raise Problem(name, f"_summary must be one of {', '.join(SUMMARY)}.")
        q.summary = value
    elif base == "_elements":
        elements = tuple(e.strip() for e in value.split(",") if e.strip())
        if not elements or not all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", e) for e in elements):
            raise Problem(name, "_elements lists top-level element names, separated by commas.")
        q.elements = elements
    elif base == "_total":
        if value not in TOTALS:
            raise Problem(name, f"_total must be one of {', '.join(TOTALS)}.")
        q.total = value
    elif base == PAGE:
        q.cursor = value
    return value


def capped_count(name: str, value: str) -> int:
    """A whole number (0 or more), lowered to MAX_COUNT; anything else is a Problem."""
    if not re.fullmatch(r"[0-9]+", value):
        raise Problem(name, f"_count must be a whole number, not '{value}'.")
    return min(int(value), MAX_COUNT)


def _sort_key(res_type: str | None, key: str) -> SortKey:
    key = key.strip()
    descending = key.startswith("-")
    name = key[1:] if descending else key
    param = lookup(res_type, name)
    if param is None or param.type not in ("token", "string", "date") or not param.sortable:
        raise Problem("_sort", f"Cannot sort by '{name}'.")
    return SortKey(param, descending)


def _include(res_type: str | None, name: str, value: str) -> Include:
    reverse = name.startswith("_revinclude")
    modifier = name.split(":", 1)[1] if ":" in name else None
    if modifier not in (None, "iterate", "recurse"):
        raise Problem(name, f"Unknown modifier ':{modifier}' on {name.split(':')[0]}.")
    iterate = modifier is not None
    if value == "*":
        return Include(None, None, None, iterate, reverse)
    parts = value.split(":")
    if len(parts) not in (2, 3) or parts[0] not in registry.REGISTRY:
        raise Problem(name, f"'{value}' is not Type:parameter[:TargetType] for a served type.")
    source = parts[0]
    param = None
    if parts[1] != "*":
        param = lookup(source, parts[1])
        if param is None or param.type != "reference":
            raise Problem(name, f"'{parts[1]}' is not a reference parameter of {source}.")
    target = parts[2] if len(parts) == 3 else None
    if target is not None and param is not None and target not in param.targets:
        raise Problem(name, f"{source}:{parts[1]} cannot point at {target}.")
    if not reverse and not iterate and res_type is not None and source != res_type:
        raise Problem(name, f"_include={value} does not start from {res_type}; use :iterate.")
    return Include(source, param, target, iterate, reverse)


def criterion(res_type: str | None, name: str, value: str, base_url: str, depth: int):
    if depth > MAX_CHAIN:
        raise Problem(name, f"Chains and _has are limited to {MAX_CHAIN} links.")
    if name.startswith("_has:"):
        return _has(res_type, name, value, base_url, depth)
    if name == "_type" and res_type is None:
        types = tuple(t.strip() for t in _or_values(name, value))
        unknown = [t for t in types if t not in registry.REGISTRY]
        if unknown:
            raise Problem(name, f"_type names types not served here: {', '.join(unknown)}.")
        return TypeFilter(types)
    if "." in name:
        return _chain(res_type, name, value, base_url, depth)
    pname, _, modifier = name.partition(":")
    param = lookup(res_type, pname)
    where = res_type or "a system-level search"
    if param is None:
        raise Problem(name, f"Unknown search parameter '{pname}' for {where}.", unknown=True)
    return _filter(param, name, modifier or None, value, base_url)


def _or_values(name: str, value: str) -> list[str]:
    values = split_unescaped(value, ",")
    if len(values) > MAX_OR_VALUES:
        raise Problem(name, f"A parameter takes at most {MAX_OR_VALUES} values; this one has {len(values)}.")
    return values


def _has(res_type, name, value, base_url, depth):
    parts = name.split(":", 3)
    if res_type is None or len(parts) < 4:
        raise Problem(name, "_has needs a type and the form _has:Type:reference:parameter.")
    _, source, ref_name, inner_name = parts
    if source not in registry.REGISTRY:
        raise Problem(name, f"_has names '{source}', which is not served here.")
    ref = lookup(source, ref_name)
    if ref is None or ref.type != "reference" or res_type not in ref.targets:
        raise Problem(name, f"{source}.{ref_name} is not a reference that can point at {res_type}.")
    try:
        inner = criterion(source, inner_name, value, base_url, depth + 1)
    except Problem as p:
        raise Problem(name, p.message) from None  # an unknown inner name is a malformed _has
    return Has(source, ref, inner)


def _chain(res_type, name, value, base_url, depth):
    head, rest = name.split(".", 1)
    pname, _, type_mod = head.partition(":")
    param = lookup(res_type, pname)
    if param is None:
        raise Problem(name, f"Unknown search parameter '{pname}' for {res_type}.", unknown=True)
    if param.type != "reference":
        raise Problem(name, f"'{pname}' is not a reference parameter of {res_type}; it cannot be chained.")
    if type_mod:
        if type_mod not in param.targets:
            raise Problem(name, f"{pname} cannot point at {type_mod}.")
        candidates = [type_mod]
    else:
        candidates = list(param.targets)
    branches = []
    for target in candidates:
        if target not in registry.REGISTRY:
            continue
        try:
            branches.append((target, criterion(target, rest, value, base_url, depth + 1)))
        except Problem as p:
            # A target type without that parameter is no branch; a bad value or link is an error,
            # and so is an unknown parameter on the one type named (the chain's head is known).
            if type_mod or not p.unknown:
                raise Problem(name, p.message) from None
    if not branches:
        raise Problem(name, f"No type {pname} can point at has a parameter '{rest}'.")
    return Chain(param, tuple(branches))


def _filter(param: SearchParam, name: str, modifier: str | None, value: str, base_url: str) -> Filter:
    allowed = {"token": TOKEN_MODIFIERS, "string": STRING_MODIFIERS, "date": DATE_MODIFIERS,
               "uri": URI_MODIFIERS, "reference": {"missing"}}[param.type]
    if param.column is not None:
        allowed = set()  # _id and _lastUpdated are never missing and have no variants
    if modifier is not None and modifier not in allowed:
        if param.type == "reference" and modifier in param.targets:
            pass  # `subject:Patient=1`: the type modifier
        else:
            raise Problem(name, f"Modifier ':{modifier}' is not supported on '{param.name}'.")
    if modifier == "missing":
        if value not in ("true", "false"):
            raise Problem(name, ":missing takes true or false.")
        return Filter(param, modifier, (), missing=value == "true")
    raw = _or_values(name, value)
    if any(v == "" for v in raw):
        raise Problem(name, f"'{name}' needs a value (empty values between commas are not allowed).")
    parse_one = {"token": _token, "string": _string, "date": _date, "uri": _uri,
                 "reference": lambda v, m: _reference(param, v, m, base_url)}[param.type]
    if param.column == "res_id":
        parse_one = _id
    try:
        values = tuple(parse_one(v, modifier) for v in raw)
    except Problem as p:
        raise Problem(name, p.message) from None
    return Filter(param, modifier, values)


def _id(raw: str, modifier) -> Token:
    if not ID.fullmatch(raw):
        raise Problem("_id", f"'{raw}' is not a resource id (1-64 letters, digits, '-' and '.').")
    return Token(None, raw)


def _token(raw: str, modifier):
    if modifier == "text":
        text = normalise(unescape(raw))
        if not text:
            raise Problem("token", ":text needs letters or digits.")
        return text
    parts = split_unescaped(raw, "|")
    if len(parts) == 1:
        return Token(None, clip(unescape(parts[0])))
    if len(parts) != 2:
        raise Problem("token", f"'{raw}' has more than one unescaped '|'.")
    system, code = unescape(parts[0]), unescape(parts[1])
    if system == "" and code == "":
        raise Problem("token", "'|' alone is not a token.")
    return Token(clip(system), clip(code) if code != "" else None)


def _string(raw: str, modifier):
    text = unescape(raw)
    if modifier == "exact":
        return text
    norm = normalise(text)
    if not norm:
        raise Problem("string", "A string search needs letters or digits.")
    return norm[:STRING_MAX]


def _date(raw: str, modifier):
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    text = raw[2:] if raw[:2] in PREFIXES else raw
    rng = date_range(text)
    if rng is None:
        raise Problem("date", f"'{raw}' is not a FHIR date (with an optional prefix).")
    return DateValue(prefix, rng[0], rng[1])


def _uri(raw: str, modifier):
    return clip(unescape(raw), URI_MAX)


def _reference(param: SearchParam, raw: str, modifier, base_url: str) -> Ref:
    value = unescape(raw)
    if base_url and value.startswith(base_url.rstrip("/") + "/"):
        value = value[len(base_url.rstrip("/")) + 1:]
    value = re.sub(r"/_history/[^/]+$", "", value)
    if "://" in value or value.startswith("urn:"):
        return Ref(None, None, value)
    m = re.fullmatch(r"(?:(?P<type>[A-Z][A-Za-z]+)/)?(?P<id>[A-Za-z0-9\-.]{1,64})", value)
    if m is None:
        raise Problem(param.name, f"'{raw}' is not a reference (Type/id, id or an absolute URL).")
    rtype = m["type"] or modifier
    if m["type"] and modifier and m["type"] != modifier:
        raise Problem(param.name, f"'{raw}' contradicts the :{modifier} modifier.")
    return Ref(rtype, m["id"], None)
