# Two commands do all the set-up (see README):
#   make run    create .venv with a Python >= 3.12 found on this machine, install, run the baseline
#   make test   create .venv, install with every extra, lint (ruff) and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench clean

$(PY):
	"$$(bash scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-all: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,sweep,viz,report]"
	@touch $@ $(VENV)/.installed-base

run: $(VENV)/.installed-base
	$(VENV)/bin/abm run

lint: $(VENV)/.installed-all
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

bench: $(VENV)/.installed-all
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
