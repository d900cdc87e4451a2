# Two commands: `make run` and `make test`. Everything else a newcomer can guess.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-unit test-integration test-e2e lint fmt bench migrate revision clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install  ## the whole platform on embedded PostgreSQL + NATS; Ctrl-C stops it
	$(BIN)/python -m deploy.launcher

test: install  ## every tier; starts its own PostgreSQL and NATS on free ports
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest -m unit

test-integration: install
	$(BIN)/python -m pytest -m integration

test-e2e: install
	$(BIN)/python -m pytest -m e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy kit services gateway deploy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## starts its own stack; figures go to stdout and bench/results/
	$(BIN)/python -m bench.run

migrate: install  ## apply migrations to ZONE_DATABASE_URL (or the embedded server's databases)
	$(BIN)/python -m deploy.migrate

revision: install  ## make revision SERVICE=registry MESSAGE="zones add region": a new migration
	@test -n "$(SERVICE)" -a -n "$(MESSAGE)" || { echo 'usage: make revision SERVICE=registry MESSAGE="what it changes"' >&2; exit 2; }
	$(BIN)/python -m deploy.revision "$(SERVICE)" "$(MESSAGE)"

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache bench/results
