"""R4 narrative XHTML (narrative.html#xhtml, invariants txt-1 and txt-2).

txt-1: only the basic HTML formatting elements and attributes of HTML 4.0
chapters 7-11 (not 9.4, ins/del) and 15, <a> (name or href), images and inline
style; no head/body, scripts, forms, frames, objects, base/link, or event
attributes. txt-2: some non-whitespace content. The root is one
<div xmlns="http://www.w3.org/1999/xhtml">. Parsed with expat, in one pass.
"""
from __future__ import annotations

import re
from xml.parsers import expat

XHTML = "http://www.w3.org/1999/xhtml"
XML_NS = "http://www.w3.org/XML/1998/namespace"

ELEMENTS = frozenset({
    "div", "span", "h1", "h2", "h3", "h4", "h5", "h6", "address", "bdo",           # ch. 7, 8
    "em", "strong", "dfn", "code", "samp", "kbd", "var", "cite", "abbr", "acronym",  # ch. 9
    "blockquote", "q", "sub", "sup", "p", "br", "pre",
    "ul", "ol", "li", "dl", "dt", "dd",                                              # ch. 10
    "table", "caption", "thead", "tfoot", "tbody", "colgroup", "col", "tr", "th", "td",  # ch. 11
    "tt", "i", "b", "big", "small", "hr",                                            # ch. 15
    "a", "img",
})
COMMON = frozenset({"id", "class", "style", "title", "lang", f"{XML_NS} lang", "dir"})
CELL = frozenset({"align", "char", "charoff", "valign"})
ATTRIBUTES = {
    "a": frozenset({"href", "name", "hreflang", "type", "rel", "rev", "charset", "tabindex", "accesskey"}),
    "img": frozenset({"src", "alt", "longdesc", "height", "width"}),
    "blockquote": frozenset({"cite"}), "q": frozenset({"cite"}),
    "pre": frozenset({f"{XML_NS} space"}),
    "table": frozenset({"summary", "width", "border", "frame", "rules", "cellspacing", "cellpadding"}),
    "th": CELL | {"abbr", "axis", "headers", "scope", "rowspan", "colspan"},
    "td": CELL | {"abbr", "axis", "headers", "scope", "rowspan", "colspan"},
    "col": CELL | {"span", "width"}, "colgroup": CELL | {"span", "width"},
    "thead": CELL, "tfoot": CELL, "tbody": CELL, "tr": CELL,
}
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "urn"})
SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
IGNORED_IN_URL = re.compile(r"[\x00-\x20]+")  # browsers skip these inside a scheme
UNSAFE_STYLE = re.compile(r"url\s*\(|expression\s*\(|javascript:|behavior\s*:|-moz-binding|@import", re.I)


class _Invalid(Exception):
    pass


def _url_ok(element: str, attribute: str, value: str) -> bool:
    match = SCHEME.match(IGNORED_IN_URL.sub("", value).lower())
    if match is None:
        return True  # relative, or a fragment (#id)
    scheme = match.group(1)
    if scheme == "data":  # an inline image, not a link
        return element == "img" and attribute == "src" and value.strip().lower().startswith("data:image/")
    return scheme in SAFE_SCHEMES


def problem(div: str) -> str | None:
    """Why `div` is not valid R4 narrative XHTML, or None."""
    state = {"depth": 0, "content": False}

    def start(name: str, attrs: dict) -> None:
        ns, _, tag = name.rpartition(" ")
        if state["depth"] == 0 and name != f"{XHTML} div":
            raise _Invalid('the root must be <div xmlns="http://www.w3.org/1999/xhtml">')
        if ns != XHTML or tag not in ELEMENTS:
            raise _Invalid(f"element <{tag}> is not allowed in narrative")
        allowed = ATTRIBUTES.get(tag, frozenset())
        for attr, value in attrs.items():
            if attr not in COMMON and attr not in allowed:
                raise _Invalid(f"attribute '{attr.rpartition(' ')[2]}' is not allowed on <{tag}>")
            if attr in URL_ATTRIBUTES and not _url_ok(tag, attr, value):
                raise _Invalid(f"<{tag} {attr}> uses a URL scheme that is not allowed")
            if attr == "style" and UNSAFE_STYLE.search(value):
                raise _Invalid(f"<{tag} style> may not load or run anything")
        state["depth"] += 1
        state["content"] = state["content"] or tag == "img"

    def end(_name: str) -> None:
        state["depth"] -= 1

    def text(data: str) -> None:
        if state["depth"] == 0 and data.strip():
            raise _Invalid("text outside the root <div>")
        state["content"] = state["content"] or bool(data.strip())

    def refuse(*_args) -> None:
        raise _Invalid("DOCTYPE, entity declarations and processing instructions are not allowed")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    parser.ProcessingInstructionHandler = refuse
    try:
        parser.Parse(div, True)
    except _Invalid as exc:
        return str(exc)
    except expat.ExpatError as exc:
        return f"is not well-formed XHTML ({expat.ErrorString(exc.code)})"
    if not state["content"]:
        return "has no content (txt-2)"
    return None
