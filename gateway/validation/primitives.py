"""R4 primitive values (datatypes.html#primitive): their JSON type, their regex, and
no control characters in strings."""
from __future__ import annotations

import re

from .r4_tables import REGEX

PATTERNS = {kind: re.compile(regex) for kind, regex in REGEX.items() if regex}
PRIMITIVES = frozenset(REGEX)
INTEGERS = frozenset({"integer", "positiveInt", "unsignedInt"})
INT32 = range(-2**31, 2**31)  # datatypes.html#integer: 32-bit
# datatypes.html#string: no character below U+0020 except tab, LF and CR.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
BASE64_PLAIN = re.compile(r"[0-9a-zA-Z+/=]*")  # fast path: base64 without whitespace


MAX_STRING = 1024 * 1024  # R4 datatypes: "strings SHALL NOT exceed 1MB in size"
LIMITED_STRINGS = frozenset({"string", "markdown"})


def problem(kind: str, value) -> str | None:
    """Why `value` is not a valid R4 `kind` in JSON, or None."""
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be a JSON true or false"
    if kind == "decimal":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "must be a JSON number"
    if kind in INTEGERS:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be a JSON integer"
        if value not in INT32:
            return "is outside the 32-bit range of an R4 integer"
        return None if PATTERNS[kind].fullmatch(str(value)) else f"is not a valid {kind}"
    if not isinstance(value, str):
        return "must be a JSON string"
    if not value.strip():
        return "must not be empty or only whitespace"
    if kind in LIMITED_STRINGS and len(value) > MAX_STRING:
        return f"is longer than R4's limit of {MAX_STRING} characters"
    if CONTROL.search(value):
        return "contains a control character (only tab, CR and LF are allowed)"
    if kind == "base64Binary" and len(value) % 4 == 0 and BASE64_PLAIN.fullmatch(value):
        return None
    pattern = PATTERNS.get(kind)
    if pattern is not None and not pattern.fullmatch(value):
        return f"is not a valid R4 {kind}"
    return None
