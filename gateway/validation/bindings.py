"""Required bindings (terminologies.html#required) on `code` elements, from the
generated R4 value sets. Value sets the definitions cannot expand are listed in
r4_tables.UNEXPANDABLE and not checked."""
from __future__ import annotations

from .r4_tables import VALUE_SETS

CODES = {url: frozenset(c for codes in systems.values() for c in codes) for url, systems in VALUE_SETS.items()}


def problem(value_set: str, code: str) -> str | None:
    codes = CODES.get(value_set)
    if codes is None or code in codes:
        return None
    return f"'{code}' is not in the required value set {value_set} (R4 4.0.1)"
