# Rathaus: `make up` starts the platform, `make test` runs every test.
# Both install what they need: uv, the locked Python packages, the npm assets and,
# for browser tests, Debian's chromium, for SAML logins Debian's xmlsec1 (pysaml2 signs
# and verifies with it), and for the PostgreSQL pass Debian's postgresql (only its binaries
# are used: the tests start a throw-away cluster in a temporary directory).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
VENDOR := platform/src/rathaus/platform/kernel/static/vendor

.PHONY: up test test-postgres bootstrap python assets browser saml postgres lint schemas clean

# The PostgreSQL pass: the suites that touch the modules' databases once more with every
# module on PostgreSQL (RATHAUS_TEST_DATABASE=postgresql: one cluster per pytest session, a
# fresh database per module for each test and each platform started). In `make test` it
# covers every module's integration suite, the e2e durability suite (SIGKILL mid-case) and the
# twelve services end to end (e2e/test_services.py); the replicas fault suite (two replicas of
# every component, one of each killed) runs on PostgreSQL in the fault pass. It skips what
# does not depend on the database: the unit tests (in memory) and
# the browser tests (-m "not browser": they test pages and accessibility; the same handlers
# and queries run on PG in each module's HTTP-level tests); and, for CI's time on 2 cores,
# platform/tests/integration and the other e2e and fault suites. Measured on this machine:
# README "For testers".
# Everything on PG:
#   make test-postgres PG_SUITES="modules/*/tests/integration platform/tests/integration e2e"
PG_SUITES := $(wildcard modules/*/tests/integration) e2e/test_durability.py e2e/test_services.py
PG_MARKERS := not browser
# The tests run their files on two workers (pytest-xdist; a file stays on one worker, so
# its module fixtures start once; the tests bind no fixed port or path). The fault suites
# (marker `faults`) run after the others, on two workers of their own, not beside the
# browser and e2e tests; what each checked is printed in the summary ("what the long tests
# checked"). The PostgreSQL pass runs on two workers too.
# PYTEST_WORKERS=0 runs everything in one process, one test after another.
PYTEST_WORKERS ?= 2
XDIST := -n $(PYTEST_WORKERS) --dist loadfile
# a pass that PYTEST_ARGS leaves without tests (pytest's exit code 5) is not a failure
NONE_SELECTED_IS_FINE := || [ $$? -eq 5 ]

up: bootstrap
	$(BIN)/rathaus up $(ARGS)

test: bootstrap browser postgres
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m rathaus.contracts check
	$(BIN)/pytest $(XDIST) -m "not faults" $(PYTEST_ARGS) $(NONE_SELECTED_IS_FINE)
	$(BIN)/pytest $(XDIST) -m faults $(PYTEST_ARGS) $(NONE_SELECTED_IS_FINE)
	RATHAUS_TEST_DATABASE=postgresql $(BIN)/pytest $(XDIST) -m "$(PG_MARKERS)" $(PG_SUITES) $(PYTEST_ARGS) $(NONE_SELECTED_IS_FINE)
	$(BIN)/rathaus bench --smoke

# the PostgreSQL pass alone
test-postgres: bootstrap postgres
	RATHAUS_TEST_DATABASE=postgresql $(BIN)/pytest $(XDIST) -m "$(PG_MARKERS)" $(PG_SUITES) $(PYTEST_ARGS)

bootstrap: python assets saml

# The packages' and our sources' bytecode is compiled once here: with PYTHONDONTWRITEBYTECODE
# set (as on CI machines), Python would otherwise compile every module from source in
# every process it starts (`import rathaus.platform.runtime.serve`: 7.9 s -> 3.6 s, a
# fresh `rathaus up` 27.5 s -> 11.3 s until it is ready).
python:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --all-packages --quiet --compile-bytecode
	$(BIN)/python -m compileall -q -j 0 platform/src contracts/src $(wildcard modules/*/src)

assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/kern
	cp -r node_modules/@kern-ux/native/dist/. $(VENDOR)/kern/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/axe-core/axe.min.js $(VENDOR)/
	touch $@

browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need /usr/bin/chromium: sudo apt-get install chromium"; fi; \
	fi

saml:
	@if ! command -v xmlsec1 >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; \
	  else echo "SAML logins need xmlsec1: sudo apt-get install xmlsec1"; fi; \
	fi

postgres:
	@if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "the PostgreSQL pass needs Debian's postgresql: sudo apt-get install postgresql"; fi; \
	fi

schemas: python
	$(BIN)/python -m rathaus.contracts generate

lint: python
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
