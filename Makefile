# Two commands do all the set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := tools/cypher-lint/node_modules/.installed
MAP_STAMP := maps/assets/node_modules/.installed
GRAPHIQL_STAMP := directory/web/graphiql/node_modules/.installed
AXE_STAMP := tools/axe/node_modules/.installed
PEER_STAMP := bench/peer/node_modules/.installed

.PHONY: setup serve test test-pure lint bench sdl clean compose-tool browser

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[embedded,dev]"
	touch $@

$(NODE_STAMP): tools/cypher-lint/package.json tools/cypher-lint/package-lock.json
	cd tools/cypher-lint && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Leaflet and its marker clustering, served by the service itself: maps need no CDN.
$(MAP_STAMP): maps/assets/package.json maps/assets/package-lock.json
	cd maps/assets && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# GraphiQL and React, served by the service itself at GET /graphql: the explorer needs no CDN.
$(GRAPHIQL_STAMP): directory/web/graphiql/package.json directory/web/graphiql/package-lock.json
	cd directory/web/graphiql && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# axe-core, run inside the browser by the pages' accessibility test (tests only; never served).
$(AXE_STAMP): tools/axe/package.json tools/axe/package-lock.json
	cd tools/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# @neo4j/graphql on Apollo Server, the GraphQL API's peer in `make bench` (bench/peer.py; never served).
$(PEER_STAMP): bench/peer/package.json bench/peer/package-lock.json
	cd bench/peer && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium, for the map tests in a real browser (Playwright drives it; it downloads nothing).
CHROMIUM := $(shell command -v chromium 2>/dev/null)
browser:
ifeq ($(CHROMIUM),)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
endif

# Debian's docker-compose validates docker-compose.yml without a Docker engine.
COMPOSE := $(shell command -v docker-compose 2>/dev/null)
compose-tool:
ifeq ($(COMPOSE),)
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
endif

setup: $(PY_STAMP) $(NODE_STAMP) $(MAP_STAMP) $(GRAPHIQL_STAMP) $(AXE_STAMP)

serve: $(PY_STAMP) $(MAP_STAMP) $(GRAPHIQL_STAMP)
	$(BIN)/directory serve --demo

lint: setup compose-tool
	$(BIN)/ruff check directory schema maps federation tests tools bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/lint_cypher.py
	$(BIN)/python -m schema.export --check
	NEO4J_PASSWORD=validation-only docker-compose -f docker-compose.yml config -q

test: lint browser
	$(BIN)/pytest -q

# The tests that need no graph store, server or browser (marked `pure`): seconds, not minutes.
test-pure: setup
	$(BIN)/pytest -q -m pure

bench: setup $(PEER_STAMP)
	$(BIN)/python -m bench

sdl: setup
	$(BIN)/python -m schema.export

clean:
	rm -rf $(VENV) tools/cypher-lint/node_modules maps/assets/node_modules directory/web/graphiql/node_modules \
		bench/peer/node_modules
