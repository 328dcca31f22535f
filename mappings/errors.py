"""Errors of the mapping layer; pure values the gateway turns into OperationOutcomes."""
from __future__ import annotations


class NetworkInvalid(ValueError):
    """A network document was refused whole. `problems` lists every problem
    found, each as {"path": "members[2].relationship", "message": "..."}."""

    def __init__(self, problems: list[dict]):
        self.problems = problems
        summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"Invalid care-network document: {summary}{more}")


class MappingError(ValueError):
    """FHIR resources that do not form one care network we can map back."""
