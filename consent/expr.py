"""A small boolean expression over resource facts: what the gateway turns into SQL.

Every atom tests one fact column that `facts_of` extracts, so each maps to
one indexed predicate. Build expressions with `all_of` / `any_of` / `negate`,
which simplify, so that "no consent" is plainly `FALSE`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .model import ResourceFacts


class Expr:
    __slots__ = ()


@dataclass(frozen=True)
class Const(Expr):
    value: bool

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE = Const(True)
FALSE = Const(False)


@dataclass(frozen=True)
class And(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not(Expr):
    item: Expr


@dataclass(frozen=True)
class TypeIn(Expr):
    """resourceType is one of `types`."""
    types: frozenset[str]


@dataclass(frozen=True)
class IdIn(Expr):
    """The resource is one of `refs` ("Type/id")."""
    refs: frozenset[str]


@dataclass(frozen=True)
class HasSecurity(Expr):
    """meta.security holds this coding."""
    system: str
    code: str


@dataclass(frozen=True)
class HasCode(Expr):
    """The resource's codes (per type, see facts.py) hold this coding."""
    system: str
    code: str


@dataclass(frozen=True)
class DataDateIn(Expr):
    """The resource's data date against [start, end) (None: unbounded).

    strict=True (for permits): the resource has a date and it lies wholly
    inside. strict=False (for denies): undated, or overlapping at all."""
    start: datetime | None
    end: datetime | None
    strict: bool


@dataclass(frozen=True)
class AuthoredBy(Expr):
    """`ref` is among the resource's authors (sender, author, recorder...)."""
    ref: str


@dataclass(frozen=True)
class References(Expr):
    """The resource holds a reference to `ref`."""
    ref: str


@dataclass(frozen=True)
class ReferencedBy(Expr):
    """`ref` references the resource. Facts may not know (referenced_by is
    None): then the atom is `if_unknown` (False for permits, True for denies)."""
    ref: str
    if_unknown: bool


def all_of(*items: Expr) -> Expr:
    out: list[Expr] = []
    for item in items:
        for part in item.items if isinstance(item, And) else (item,):
            if part == FALSE:
                return FALSE
            if part != TRUE and part not in out:
                out.append(part)
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else And(tuple(out))


def any_of(*items: Expr) -> Expr:
    out: list[Expr] = []
    for item in items:
        for part in item.items if isinstance(item, Or) else (item,):
            if part == TRUE:
                return TRUE
            if part != FALSE and part not in out:
                out.append(part)
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else Or(tuple(out))


def negate(item: Expr) -> Expr:
    if isinstance(item, Const):
        return FALSE if item.value else TRUE
    if isinstance(item, Not):
        return item.item
    return Not(item)


def _date_in(atom: DataDateIn, facts: ResourceFacts) -> bool:
    rng = facts.data_date
    if rng is None:
        return not atom.strict
    if atom.strict:
        starts_inside = atom.start is None or (rng.start is not None and rng.start >= atom.start)
        ends_inside = atom.end is None or (rng.end is not None and rng.end <= atom.end)
        return starts_inside and ends_inside
    starts_before_end = atom.end is None or rng.start is None or rng.start < atom.end
    ends_after_start = atom.start is None or rng.end is None or rng.end > atom.start
    return starts_before_end and ends_after_start


def evaluate(expr: Expr, facts: ResourceFacts) -> bool:
    match expr:
        case Const(value):
            return value
        case And(items):
            return all(evaluate(i, facts) for i in items)
        case Or(items):
            return any(evaluate(i, facts) for i in items)
        case Not(item):
            return not evaluate(item, facts)
        case TypeIn(types):
            return facts.type in types
        case IdIn(refs):
            return facts.id in refs
        case HasSecurity(system, code):
            return (system, code) in facts.security
        case HasCode(system, code):
            return (system, code) in facts.codes
        case DataDateIn():
            return _date_in(expr, facts)
        case AuthoredBy(ref):
            return ref in facts.authors
        case References(ref):
            return ref in facts.references
        case ReferencedBy(ref, if_unknown):
            return if_unknown if facts.referenced_by is None else ref in facts.referenced_by
    raise TypeError(f"not a consent filter expression: {expr!r}")
