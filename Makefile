# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# `make test` runs the suite in this many processes (pytest-xdist): most of its time is spent waiting on
# browsers, workers and servers, so more processes than cores still help.
TEST_PROCESSES ?= 3
# Links in emails, share tags and QR codes name the address the site is served on.
export SITE_URL ?= http://$(HOST):$(PORT)
# Local development unless the environment says otherwise.
export DEBUG ?= true

.PHONY: run test lint format bench bench-surge bench-attack vendor worker

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $(VENV)/.run-installed $@

run: $(VENV)/.run-installed
	@scripts/system-packages.sh run
	@# Without DEBUG, static files are served from their collected, hashed copies.
	@[ "$$DEBUG" = true ] || $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@# Uploads are scanned by a local clamd when ClamAV is installed (test signatures only: it
	@# proves the plumbing); without it files are processed but stay "scan pending", never clean.
	@# Its limit is the application's CLAMD_MAX_BYTES, so that it never refuses a file the application sends.
	@if [ -z "$$CLAMD_ADDRESS" ] && max_bytes=$$($(BIN)/python manage.py shell --no-imports -c "from django.conf import settings; print(settings.CLAMD_MAX_BYTES)") \
	  && socket=$$(scripts/local-clamd.sh start var/clamav "$$max_bytes" 2>/dev/null); then \
	  echo "Scanning uploads with a local clamd on $$socket (EICAR test signature only)"; \
	  export CLAMD_ADDRESS=$$socket; trap 'scripts/local-clamd.sh stop var/clamav' EXIT INT TERM; \
	elif [ -z "$$CLAMD_ADDRESS" ]; then echo "ClamAV is not installed: uploads stay 'scan pending'"; fi; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.dev-installed
	@scripts/system-packages.sh test
	@scripts/html-checker.sh $(VENV)/share/vnu.jar
	$(BIN)/ruff check .
	@# Each module's tests in one process, so that a server of its own (SeaweedFS) starts once.
	$(BIN)/pytest --numprocesses $(TEST_PROCESSES) --dist loadscope

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev-installed
	@scripts/system-packages.sh test
	$(BIN)/python bench/run.py

# Attacks and faults against the production stack on loopback; ATTACK_DATABASE_URL: a PostgreSQL superuser.
bench-attack: $(VENV)/.dev-installed
	@scripts/system-packages.sh test
	$(BIN)/python bench/attack.py

# The viral-day surge on the whole stack (bench/surge.py): up to 20 minutes, so not part of `make bench`.
# Needs a PostgreSQL server (BENCH_POSTGRES_URL, a superuser's URL; default postgres@127.0.0.1:5432).
bench-surge: $(VENV)/.dev-installed
	@scripts/system-packages.sh test
	$(BIN)/python bench/surge.py

# Maintainers only: needs Node and npm.
vendor:
	scripts/vendor-frontend.sh

# The Celery workers as deploy/Procfile runs them (one per queue: media, proxy, notify) and beat, when
# CELERY_BROKER_URL is set: web proxies have a worker of their own, so transcodes never hold up a first look.
worker: $(VENV)/.run-installed
	@mkdir -p var
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f deploy/Procfile start media proxy notify beat
