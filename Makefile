# Two entry points for a fresh machine: `make demo` (local mode with a working example) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint pytest kube bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aliasgate demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The real Kubernetes binaries the cluster tests run (Go >= 1.26; cached in ~/.cache/aliasgate/kube, so
# only the first build on a machine takes long: 15-25 min on 2 cores, with progress lines).
kube:
	$(PYTHON) scripts/cluster build

pytest: $(STAMP) kube
	$(BIN)/python -m pytest -q

test: lint pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
