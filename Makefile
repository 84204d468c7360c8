# redif quick start:  `make run` (serve the web app on the embedded SQLite registry)  and  `make test`.
# Both create/refresh a virtual environment in .venv on first use.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
OUT    ?= out

.PHONY: run demo summary test sysdeps lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask]"
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
	REDIF_TEST_DASK=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

bench: $(STAMP)
	for f in benchmarks/*_bench.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
