# Future Forward. `make run` serves the demo site; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
# Without DATABASE_URL, wrap commands so the embedded PostgreSQL runs while they do.
WITH_DB := $(PY) -m futureforward.pgembed run --

.PHONY: install lock run test lint audit serve release bench browser migrations-check clean-db

# Installs come from the lock file (requirements.txt: exact versions with their hashes), so a
# fresh clone gets what the suite last passed with; pyproject.toml keeps the allowed ranges.
$(STAMP): pyproject.toml requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Refresh the lock on purpose. Plain `make lock` keeps every pin and adds what pyproject newly
# asks for; UPGRADE=<package> moves one package to its newest allowed release, UPGRADE=all moves
# everything. Commit the new requirements.txt once `make test` passes with it.
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --quiet $(if $(filter all,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE),)) -o requirements.txt

run: install
	PORT=$(PORT) $(WITH_DB) $(PY) -m futureforward.devserver

# Browser tests drive Debian's Chromium; install it when missing and we may.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)."; exit 1; fi; }

test: install browser
	$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m bandit -c pyproject.toml -r . -q
	$(VENV)/bin/lint-imports --no-cache
	$(WITH_DB) $(PY) manage.py makemigrations --check --dry-run

# Known vulnerabilities in the installed dependencies. Needs the network (PyPI's or OSV's
# vulnerability data), so it is a target of its own: lint and test stay offline.
audit: install
	$(PY) -m pip_audit --strict --skip-editable --progress-spinner off

migrations-check: install
	$(WITH_DB) $(PY) manage.py makemigrations --check --dry-run

# Production shape on this machine: release step, then DEBUG off, gunicorn and a task worker
# (the Procfile's three processes). Settings come from the environment; see README "Deploying".
serve: install
	$(WITH_DB) $(PY) -m futureforward.serve

# A deploy's release step on its own: migrate, cache table, collectstatic.
release: install
	$(WITH_DB) $(PY) -m futureforward.release

bench: install
	$(WITH_DB) $(PY) -m tests.bench.run

clean-db:
	$(PY) -m futureforward.pgembed stop
	rm -rf .pgdata
