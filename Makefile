# Entry points for a fresh machine: `make demo`, `make chat` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo chat test lint install clean lock

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

DEMO_DB ?= sqlite:///$(VENV)/demo.sqlite3

## demo: offline, keyless digest of this repository's latest day of commits
demo: $(STAMP)
	$(BIN)/digestbot digest --repo . --date last --analyzer rules --database $(DEMO_DB) --out -

## chat: the console chat on this repository, offline (/digest last, >N question, Ctrl-D quits)
chat: $(STAMP)
	$(BIN)/digestbot chat --repo . --analyzer rules --database $(DEMO_DB)

## test: lint, type-check, then the whole suite on SQLite and on PostgreSQL
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	PATH=$(CURDIR)/$(BIN):$$PATH bash tests/run_suite.sh

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## lock: requirements.txt, the exact versions Heroku and the container install (uv, from PyPI)
# Universal (markers for every platform) for the Python in .python-version; its line `.`
# installs digestbot itself from the checkout (Heroku runs pip install -r requirements.txt).
lock: $(STAMP)
	$(BIN)/pip install --quiet 'uv>=0.5,<1'
	echo '.[chat]' | $(BIN)/uv pip compile - --universal --quiet \
	  --python-version "$$(cat .python-version)" --custom-compile-command 'make lock' \
	  -o requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
