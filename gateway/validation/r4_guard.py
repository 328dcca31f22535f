"""The R4 guard: one walk over a resource's JSON against the generated R4 4.0.1 tables.

It refuses what R4 does not have (R4B-only elements such as an extension's
`valueCodeableReference`), arrays where R4 has one value and the reverse,
missing required elements, two values for one choice element, empty values,
an extension with both or neither of a value and extensions (ext-1),
primitives that break their R4 rules, codes outside a required value set,
narrative that breaks txt-1/txt-2, and contained resources that break
dom-2..dom-5. Each problem is an Issue naming the element's path.
"""
from __future__ import annotations

from ..errors import Issue
from . import bindings, invariants, narrative, primitives
from .r4_tables import ELEMENTS, REQUIRED, ROOT_TYPES

MAX_ISSUES = 50
# REQUIRED by base name -> every JSON name that carries it (choices, `_primitive`).
_CARRIERS = {
    key: tuple((base, frozenset(n for n, spec in ELEMENTS[key].items() if n == base or spec[3] == base)
                | frozenset(f"_{n}" for n, spec in ELEMENTS[key].items()
                            if (n == base or spec[3] == base) and spec[0] in primitives.PRIMITIVES))
               for base in bases)
    for key, bases in REQUIRED.items()
}
_REFERRING = frozenset({"canonical", "uri", "url"})  # dom-3 reads these and every `reference`


class _Walk:
    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self.local_refs: list[tuple[str, str]] = []  # (path, "#…") for dom-3

    def issue(self, code: str, path: str, message: str) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(Issue("error", code, message, (path,)))

    def resource(self, body: dict, path: str) -> None:
        rtype = body.get("resourceType")
        if not isinstance(rtype, str) or rtype not in ROOT_TYPES:
            self.issue("not-supported", f"{path}.resourceType",
                       f"A resource of type '{rtype}' cannot be held here (only the types this server serves).")
            return
        self.structure(body, rtype, path, skip="resourceType")
        contained = body.get("contained")
        if isinstance(contained, list):
            self.contained_rules(contained, path)

    def structure(self, obj: dict, key: str, path: str, skip: str = "") -> None:
        table = ELEMENTS[key]
        if not obj:
            self.issue("invalid", path, "Empty objects are not allowed in FHIR JSON.")
            return
        chosen: dict[str, str] = {}
        known = True
        for name, value in obj.items():
            if name == skip:
                continue
            where = f"{path}.{name}"
            spec = table.get(name[1:] if name[:1] == "_" else name)
            if spec is None or (name[:1] == "_" and spec[0] not in primitives.PRIMITIVES):
                self.issue("structure", where, f"Unknown element '{name}': {key} has no such element in R4 (4.0.1).")
                known = False
                continue
            kind, many, value_set, choice = spec
            if choice:
                other = chosen.setdefault(choice, name.lstrip("_"))
                if other != name.lstrip("_"):
                    self.issue("structure", where, f"Only one of {choice}[x] may be present; {other} is too.")
            if name[:1] == "_":
                kind, value_set = "Element", None
            if not many:
                if isinstance(value, list):
                    self.issue("structure", where, f"{key}.{name} holds one value in R4, not an array.")
                else:
                    self.value(kind, value_set, name, value, where)
                continue
            if not isinstance(value, list):
                self.issue("structure", where, f"{key}.{name} must be an array in R4.")
            elif not value:
                self.issue("invalid", where, "Empty arrays are not allowed in FHIR JSON.")
            else:
                pair = obj.get(name[1:] if name[:1] == "_" else f"_{name}")
                if isinstance(pair, list) and len(pair) != len(value) and name[:1] != "_":
                    self.issue("structure", where, f"{name} and _{name} must have the same number of items "
                                                   "(json.html#primitive).")
                for i, item in enumerate(value):
                    if item is None and isinstance(pair, list) and i < len(pair) and pair[i] is not None:
                        continue  # `given: [null, "b"], _given: [{...}, null]` (json.html#primitive)
                    self.value(kind, value_set, name, item, f"{where}[{i}]")
        for base, carriers in _CARRIERS.get(key, ()):
            if carriers.isdisjoint(obj):
                self.issue("required", f"{path}.{base}", f"{key}.{base} is required (R4 4.0.1).")
        if key == "Extension" and known and ("value" in chosen) == ("extension" in obj):
            self.issue("invariant", path, "ext-1: an extension has a value[x] or extensions (not both, not neither).")
        if known and (broken := invariants.problem(key, obj)):
            self.issue("invariant", path, f"{key} {broken} (R4 4.0.1).")

    def value(self, kind: str, value_set: str | None, name: str, value, path: str) -> None:
        if value is None:
            self.issue("invalid", path, "Null values are not allowed in FHIR JSON.")
        elif kind in primitives.PRIMITIVES:
            self.primitive(kind, value_set, name, value, path)
        elif not isinstance(value, dict):
            self.issue("structure", path, f"{path} must be a JSON object ({kind}).")
        elif kind == "Resource":
            self.resource(value, path)
        else:
            self.structure(value, kind, path)

    def primitive(self, kind: str, value_set: str | None, name: str, value, path: str) -> None:
        if problem := primitives.problem(kind, value):
            self.issue("value", path, f"{path}: {kind} {problem}.")
        elif value_set and (problem := bindings.problem(value_set, value)):
            self.issue("code-invalid", path, f"{path}: {problem}.")
        elif kind == "xhtml" and (problem := narrative.problem(value)):
            self.issue("value", path, f"{path}: narrative {problem}.")
        elif (kind in _REFERRING or name == "reference") and isinstance(value, str) and value[:1] == "#":
            self.local_refs.append((path, value))

    def contained_rules(self, contained: list, path: str) -> None:
        inside, holder = f"{path}.", f"{path}.contained["
        refs = {value for where, value in self.local_refs if where.startswith(inside)}
        # Contained resources that refer to their container ('#'), found in one pass (not one per resource).
        pointing_back = {where[len(holder):].split("]", 1)[0] for where, value in self.local_refs
                         if value == "#" and where.startswith(holder)}
        seen: set[str] = set()
        for i, res in enumerate(contained):
            if not isinstance(res, dict):
                continue
            where = f"{path}.contained[{i}]"
            rid = res.get("id")
            if isinstance(rid, str):
                if rid in seen:
                    self.issue("invariant", f"{where}.id", "Contained resources must have distinct ids.")
                seen.add(rid)
            if "contained" in res:
                self.issue("invariant", f"{where}.contained", "dom-2: a contained resource cannot contain resources.")
            meta = res.get("meta") if isinstance(res.get("meta"), dict) else {}
            for element in ("versionId", "lastUpdated"):
                if element in meta:
                    self.issue("invariant", f"{where}.meta.{element}",
                               f"dom-4: a contained resource cannot have meta.{element}.")
            if "security" in meta:
                self.issue("invariant", f"{where}.meta.security",
                           "dom-5: a contained resource cannot have security labels.")
            if not (isinstance(rid, str) and f"#{rid}" in refs) and str(i) not in pointing_back:
                self.issue("invariant", where, "dom-3: a contained resource must be referenced from elsewhere "
                                               "in the resource, or refer to its container ('#').")


def check(resource: dict) -> list[Issue]:
    """Every R4 problem in a resource (the first MAX_ISSUES), as Issues naming each element."""
    walk = _Walk()
    walk.resource(resource, resource["resourceType"])
    return walk.issues
