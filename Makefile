# redif quick start:  `make run` (serve the web app on the embedded SQLite registry)  and  `make test`.
# Both create/refresh a virtual environment in .venv on first use.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := constraints.txt
OUT    ?= out

.PHONY: run demo summary test sysdeps lint bench lock clean vantage6-env vantage6-lock

# The vantage6 algorithm (federated/vantage6, issue 13) has its own environment: vantage6-algorithm-tools 4.x
# pins SQLAlchemy 1.4 and needs Python 3.11, redif needs SQLAlchemy 2. `redif federated simulate` runs it
# as a subprocess (REDIF_VANTAGE6_PYTHON overrides the path).
PYTHON311 ?= $(shell command -v python3.11 2>/dev/null)
V6_VENV   := .venv-vantage6
V6_STAMP  := $(V6_VENV)/.installed-stamp
V6_LOCK   := federated/vantage6/constraints.txt

# Installs exactly the versions of the lock file (constraints.txt); `make lock` refreshes it.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(LOCK) pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev,dask]"
	touch $(STAMP)

$(V6_STAMP): federated/vantage6/pyproject.toml $(V6_LOCK)
	@test -n "$(PYTHON311)" || { echo "vantage6-env needs python3.11 on PATH (vantage6-algorithm-tools 4.x)"; exit 1; }
	$(PYTHON311) -m venv $(V6_VENV)
	$(V6_VENV)/bin/python -m pip install --quiet -c $(V6_LOCK) -e federated/vantage6
	touch $(V6_STAMP)

vantage6-env: $(V6_STAMP)

run: $(STAMP)
	$(BIN)/redif serve --data-dir redif-data

demo: $(STAMP)
	$(BIN)/redif serve --demo --data-dir redif-data

summary: $(STAMP)
	$(BIN)/redif evidence summary --out-dir $(OUT)

sysdeps:
	bash scripts/install-system-deps.sh

test: $(STAMP) $(V6_STAMP) sysdeps
	REDIF_TEST_DASK=1 REDIF_TEST_LOCKED=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts federated
	$(BIN)/mypy

bench: $(STAMP)
	for f in benchmarks/*_bench.py; do $(BIN)/python $$f || exit 1; done

# Refresh the lock: resolve pyproject.toml afresh in a clean virtual environment and freeze it.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet ".[dev,dask]"
	{ sed -n '/^#/p' $(LOCK); .lock-venv/bin/python -m pip freeze --all --exclude-editable \
	  | grep -vi '^redif'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .lock-venv

# Refresh the algorithm's lock the same way (a clean Python 3.11 venv, then pip freeze).
vantage6-lock:
	rm -rf .lock-venv-v6
	$(PYTHON311) -m venv .lock-venv-v6
	.lock-venv-v6/bin/python -m pip install --quiet -e federated/vantage6
	{ sed -n '/^#/p' $(V6_LOCK); .lock-venv-v6/bin/python -m pip freeze --all --exclude-editable \
	  | grep -vi '^redif'; } > $(V6_LOCK).new
	mv $(V6_LOCK).new $(V6_LOCK)
	rm -rf .lock-venv-v6

clean:
	rm -rf $(VENV) $(V6_VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
