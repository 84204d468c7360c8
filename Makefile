# redif quick start:  `make run` (serve the web app on the embedded SQLite registry)  and  `make test`.
# Both create/refresh a virtual environment in .venv on first use.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LOCK   := constraints.txt
OUT    ?= out

.PHONY: run demo summary test sysdeps lint bench lock clean

# Installs exactly the versions of the lock file (constraints.txt); `make lock` refreshes it.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(LOCK) pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev,dask]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/redif serve --data-dir redif-data

demo: $(STAMP)
	$(BIN)/redif serve --demo --data-dir redif-data

summary: $(STAMP)
	$(BIN)/redif evidence summary --out-dir $(OUT)

sysdeps:
	bash scripts/install-system-deps.sh

test: $(STAMP) sysdeps
	REDIF_TEST_DASK=1 REDIF_TEST_LOCKED=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
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

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
