# One command for humans, the same one CI runs (.ci/run calls `make test`).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Every distribution of the monorepo, installed editable into one environment.
PACKAGES := -e ".[all,dev]" -e kernels -e conformance \
            -e plugins/pennylane -e plugins/cirq -e plugins/mitiq -e plugins/qiskit
PYPROJECTS := $(wildcard pyproject.toml */pyproject.toml plugins/*/pyproject.toml)

.PHONY: install demo test lint typecheck unit docs bench clean

$(VENV)/.installed: $(PYPROJECTS) Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build on disk; a bare `torch` would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q $(PACKAGES)
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/qtcore backends
	$(VENV)/bin/qtcore demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check qtcore

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest -n 2 -q

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d build/site

test: lint typecheck unit docs

bench: install
	$(PY) benchmarks/bench_encoding.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
