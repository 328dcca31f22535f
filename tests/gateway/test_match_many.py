"""A transaction's identifier conditions are matched in one statement per type: each must find
exactly what matching it alone finds (none, one, several; deleted, other systems, OR-ed values)."""
from gateway.repository import Repository
from gateway.storage.db import make_engine

S, OTHER = "https://ecd.example/clients", "https://other.example/ids"


def _patient(ident_system, value, **extra):
    return {"resourceType": "Patient", "identifier": [{"system": ident_system, "value": value}], **extra}


def test_identifier_conditions_matched_together_find_what_each_finds_alone(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn, conn.begin():
            repo = Repository(conn)
            repo.create(_patient(S, "one"))
            repo.create(_patient(S, "twice"))
            repo.create(_patient(S, "twice"))
            repo.create(_patient(OTHER, "elsewhere"))
            gone = repo.create(_patient(S, "deleted"))
            repo.delete("Patient", gone.res_id)
            repo.create({"resourceType": "Patient", "identifier": [{"system": S, "value": "a"},
                                                                   {"system": S, "value": "b"}]})
        queries = [[("identifier", f"{S}|one")], [("identifier", f"{S}|twice")], [("identifier", f"{S}|nobody")],
                   [("identifier", f"{S}|deleted")], [("identifier", f"{S}|elsewhere")],
                   [("identifier", f"{OTHER}|elsewhere")], [("identifier", f"{S}|one,{S}|a")],
                   [("identifier", f"{S}|a")], [("identifier", f"{S}|b")],
                   # Shapes left to `match`: no system, a second parameter, a modifier.
                   [("identifier", "one")], [("identifier", f"{S}|one"), ("active", "true")],
                   [("identifier:not", f"{S}|one")]]
        with engine.connect() as conn:
            repo = Repository(conn)
            together = repo.match_many("Patient", queries)
            assert sorted(together) == list(range(9))
            for i in together:
                assert together[i] == repo.match("Patient", queries[i]), queries[i]
            assert [len(together[i]) for i in range(9)] == [1, 2, 0, 0, 0, 1, 2, 1, 1]
    finally:
        engine.dispose()
