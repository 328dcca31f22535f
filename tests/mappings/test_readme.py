"""mappings/README.md documents every code and code system the mapping uses."""
from __future__ import annotations

from pathlib import Path

import pytest

from mappings import codes

README = (Path(__file__).resolve().parents[2] / "mappings" / "README.md").read_text(encoding="utf-8")

SYSTEMS = [value for name, value in vars(codes).items()
           if name.isupper() and isinstance(value, str) and value.startswith(("http", "urn:"))]
TABLES = {"informal roles": codes.INFORMAL_ROLES, "professional roles": codes.PROFESSIONAL_ROLES,
          "relationships": codes.RELATIONSHIPS, "disciplines": codes.DISCIPLINES, "care tasks": codes.CARE_TASKS,
          "logbook topics": codes.LOGBOOK_TOPICS, "sharing parts": dict.fromkeys(codes.SHARING_PARTS)}


@pytest.mark.parametrize("system", SYSTEMS)
def test_readme_names_every_code_system_and_extension(system):
    assert system in README


@pytest.mark.parametrize("table", TABLES)
def test_readme_lists_every_code(table):
    missing = [code for code in TABLES[table] if f"`{code}`" not in README]
    assert missing == []
