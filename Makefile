# partnerwell: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ASSETS := partnerwell/static/dist/app.css

.PHONY: run test setup setup-dev assets chromium clean

run: setup assets
	DEBUG=true $(BIN)/partnerwell migrate --noinput
	DEBUG=true $(BIN)/partnerwell demo
	DEBUG=true TASKS_BACKEND=$${TASKS_BACKEND:-database} $(BIN)/partnerwell serve

test: setup-dev assets chromium
	$(BIN)/python scripts/run_tests.py

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

$(VENV)/.runtime: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

assets: $(ASSETS)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(ASSETS): node_modules/.package-lock.json scripts/build-assets.mjs $(wildcard partnerwell/static/scss/*.scss)
	npm run --silent build

# Browser tests drive Debian's Chromium and render PDFs with poppler's pdftoppm; the backup
# test runs pg_dump and pg_restore (postgresql-client). Install them when missing.
chromium:
	@{ command -v chromium && command -v pdftoppm && command -v pg_dump; } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium poppler-utils postgresql-client; }

clean:
	rm -rf $(VENV) node_modules partnerwell/static/dist staticfiles
