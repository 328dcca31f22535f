"""Samenzorg consent engine: pure evaluation of FHIR R4 Consent (see README.md)."""
from .dates import instants_in
from .engine import decide, decide_read, explain, readings
from .expr import (FALSE, TRUE, And, AuthoredBy, Const, DataDateIn, Expr, HasCode, HasSecurity,
                   IdIn, Not, Or, ReferencedBy, References, TypeIn, all_of, any_of, evaluate,
                   negate)
from .facts import facts_of
from .filter import compile_filter, filter_of, start_operation
from .model import (ACCESS, CONTRIBUTE, AccessRequest, DateRange, Decision, ResourceFacts,
                    Verdict)
from .representation import LEGAL_REPRESENTATIVE_ROLES, is_legal_representative, roles_of

__all__ = [
    "ACCESS", "CONTRIBUTE", "AccessRequest", "Decision", "ResourceFacts", "DateRange", "Verdict",
    "decide", "decide_read", "readings", "filter_of", "instants_in", "explain", "facts_of", "compile_filter", "start_operation", "evaluate",
    "Expr", "Const", "TRUE", "FALSE", "And", "Or", "Not", "TypeIn", "IdIn", "HasSecurity",
    "HasCode", "DataDateIn", "AuthoredBy", "References", "ReferencedBy",
    "all_of", "any_of", "negate",
    "is_legal_representative", "roles_of", "LEGAL_REPRESENTATIVE_ROLES",
]
