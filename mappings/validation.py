"""load_network: the one door into the mappings. A document is accepted whole
or refused whole, with every problem listed by JSON path."""
from __future__ import annotations

from collections.abc import Iterator

from marshmallow import ValidationError

from . import codes
from .errors import NetworkInvalid
from .network import CareNetworkSchema

CLIENT = "client"  # how the document names the client as author or decider
_SCHEMA = CareNetworkSchema()


def load_network(data) -> dict:
    """Validate a CareNetwork document and return it in canonical form:
    defaults filled in, codes normalised, dates as ISO strings, lists other
    than `members` sorted by id. Raises NetworkInvalid listing every problem."""
    if not isinstance(data, dict):
        raise NetworkInvalid([{"path": "$", "message": "A care-network document is a JSON object."}])
    problems: list[dict] = []
    try:
        loaded = _SCHEMA.load(data)
    except ValidationError as exc:
        problems.extend(_flatten(exc.messages))
        loaded = None
    # References are checked even when fields failed, so one round of fixing suffices.
    problems.extend(_reference_problems(data))
    if problems:
        unique = {(p["path"], p["message"]): p for p in problems}
        raise NetworkInvalid(sorted(unique.values(), key=lambda p: (p["path"], p["message"])))
    return _SCHEMA.dump(loaded)


def _flatten(messages, path: str = "") -> Iterator[dict]:
    if isinstance(messages, dict):
        for key, sub in messages.items():
            if key == "_schema":
                yield from _flatten(sub, path)
            elif isinstance(key, int):
                yield from _flatten(sub, f"{path}[{key}]")
            else:
                yield from _flatten(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield {"path": path or "$", "message": str(messages)}


def _items(data: dict, name: str) -> list[tuple[int, dict]]:
    value = data.get(name)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _strings(value) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


def _ids(data: dict, name: str, problems: list[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for i, item in _items(data, name):
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        if ident in found:
            problems.append({"path": f"{name}[{i}].id", "message": f"Duplicate id {ident!r}."})
        else:
            found[ident] = item
    return found


def _reference_problems(data: dict) -> list[dict]:
    problems: list[dict] = []

    def problem(path: str, message: str) -> None:
        problems.append({"path": path, "message": message})

    orgs = _ids(data, "organizations", problems)
    members = _ids(data, "members", problems)
    agreements = _ids(data, "agreements", problems)
    goals = _ids(data, "goals", problems)
    _ids(data, "logbook", problems)
    _ids(data, "sharing", problems)
    client = data.get("client") if isinstance(data.get("client"), dict) else {}

    used_orgs = set()
    managing = client.get("managingOrganization")
    if isinstance(managing, str):
        used_orgs.add(managing)
        if managing not in orgs:
            problem("client.managingOrganization", f"Unknown organisation {managing!r}.")

    national_ids: dict[tuple[str, str], int] = {}
    for i, member in _items(data, "members"):
        if member.get("id") == CLIENT:
            problem(f"members[{i}].id", f"{CLIENT!r} is reserved for the client.")
        org = member.get("organization")
        if isinstance(org, str):
            used_orgs.add(org)
            if org not in orgs:
                problem(f"members[{i}].organization", f"Unknown organisation {org!r}.")
        for key in ("agb", "uzi", "big"):
            value = member.get(key)
            if isinstance(value, str) and member.get("kind") == "professional":
                if (key, value) in national_ids:
                    problem(f"members[{i}].{key}", f"Same {key.upper()} as members[{national_ids[key, value]}]: one person, one member.")
                national_ids.setdefault((key, value), i)
    for i, org in _items(data, "organizations"):
        if isinstance(org.get("id"), str) and org["id"] not in used_orgs:
            problem(f"organizations[{i}]", f"Organisation {org['id']!r} is not used by the client or any member.")

    performed: dict[str, set[str]] = {}
    for i, agreement in _items(data, "agreements"):
        for j, performer in _strings(agreement.get("performers")):
            if performer not in members:
                problem(f"agreements[{i}].performers[{j}]", f"{performer!r} is not a member of the network.")
            performed.setdefault(performer, set()).add(str(agreement.get("id")))
        for j, goal in _strings(agreement.get("goals")):
            if goal not in goals:
                problem(f"agreements[{i}].goals[{j}]", f"Unknown goal {goal!r}.")

    for i, entry in _items(data, "logbook"):
        author = entry.get("author")
        if isinstance(author, str) and author != CLIENT and author not in members:
            problem(f"logbook[{i}].author", f"{author!r} is neither the client nor a member.")
        about = entry.get("agreement")
        if isinstance(about, str) and about not in agreements:
            problem(f"logbook[{i}].agreement", f"Unknown agreement {about!r}.")

    for i, choice in _items(data, "sharing"):
        who = choice.get("member")
        if isinstance(who, str):
            if who not in members:
                problem(f"sharing[{i}].member", f"{who!r} is not a member of the network.")
            elif members[who].get("kind") != "informal":
                problem(f"sharing[{i}].member", "Sharing choices are for informal members; professionals see the record through the care team.")
            elif "own-agreements" in [p for _, p in _strings(choice.get("parts"))] and not performed.get(who):
                problem(f"sharing[{i}].parts", f"{who!r} performs no agreement, so 'own-agreements' would share nothing.")
        decider = choice.get("decidedBy")
        if isinstance(decider, str) and decider != CLIENT:
            if decider not in members:
                problem(f"sharing[{i}].decidedBy", f"{decider!r} is neither 'client' nor a member.")
            elif not _is_representative(members[decider]):
                problem(f"sharing[{i}].decidedBy", f"{decider!r} is not a legal representative (mentor, curator, guardian, "
                        "legal representative or written authorisation) and cannot decide for the client.")
        recorder = choice.get("recordedBy")
        if isinstance(recorder, str) and recorder != CLIENT and recorder not in members:
            problem(f"sharing[{i}].recordedBy", f"{recorder!r} is neither 'client' nor a member.")
    return problems


def _is_representative(member: dict) -> bool:
    roles = {codes.normalise_role(code) for _, code in _strings(member.get("roles"))}
    return member.get("kind") == "informal" and bool(roles & codes.LEGAL_REPRESENTATIVE_ROLES)
