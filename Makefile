# Every user-facing target bootstraps .venv from pyproject.toml on first use (and again when it changes).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The console scripts pyproject.toml declares, as pip installs them into the venv
CIPHERCHAT := $(VENV)/bin/cipherchat

NB_STAMP := $(VENV)/.notebooks-stamp

# Chat settings: make chat-server CIPHER=3des, make chat-client ALIAS=alice ROOM=lobby
HOST   ?= 127.0.0.1
PORT   ?= 5050
ROOM   ?= lobby
ALIAS  ?=
CIPHER ?=
KEX    ?=
CA     ?=
CERT   ?=
DOWNLOADS ?=
# The browser client on this port when the Pyodide runtime is present (WEB=off: none)
WEB    ?= 8080
WEB_ASSETS ?=

.PHONY: test lint typecheck pytest bench notebooks chat-server chat-client clean web-assets

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cipherchat needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## test: ruff, mypy and the whole pytest suite
test: lint typecheck pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest

## chat-server: the relay (asks for the default suite when CIPHER is not given), and the browser
## client on WEB= (default 8080; WEB=off for none) when make web-assets has fetched its runtime
chat-server: $(STAMP)
	$(CIPHERCHAT) server --host $(HOST) --port $(PORT) $(if $(CIPHER),--cipher $(CIPHER)) $(if $(KEX),--kex $(KEX)) $(if $(CA),--ca $(CA)) \
		$(if $(filter off,$(WEB)),,--web $(WEB) --web-optional) $(if $(WEB_ASSETS),--web-assets $(WEB_ASSETS))

## web-assets: the pinned Pyodide runtime from the npm registry into .web-assets/pyodide (checked against chat/web_assets.lock.json)
web-assets: $(STAMP)
	$(PY) tools/fetch_pyodide.py

## chat-client: the Textual client (a join screen asks what ALIAS= and ROOM= do not say;
## CIPHER and KEX apply when the room is new; CA=, CERT=, DOWNLOADS= as in cipherchat client --help)
chat-client: $(STAMP)
	$(CIPHERCHAT) client --host $(HOST) --port $(PORT) --room $(ROOM) $(if $(ALIAS),--alias $(ALIAS)) $(if $(CIPHER),--cipher $(CIPHER)) $(if $(KEX),--kex $(KEX)) \
		$(if $(CA),--ca $(CA)) $(if $(CERT),--cert $(CERT)) $(if $(DOWNLOADS),--downloads $(DOWNLOADS))

## bench: the performance tables (ours against the peers, same run)
bench: $(STAMP)
	$(PY) -m bench

## notebooks: JupyterLab on notebooks/ with the project installed
$(NB_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,notebooks]'
	@touch $(NB_STAMP)

notebooks: $(NB_STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

## soak: the relay's load and fault harness at full size (minutes; make test runs its short version)
.PHONY: soak
soak: $(STAMP)
	$(PY) -m bench.relay_load
