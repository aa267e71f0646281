# Two commands do all the set-up (see README):
#   make run    create .venv with a Python >= 3.12 found on this machine, install, run the baseline
#   make test   create .venv, install with every extra, lint (ruff) and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint bench studies clean

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

# the three headline studies (issue 9), each a sweep then its report: results/<study>/report/
STUDIES := study_centralisation study_small_miners sovereign_entry
studies: $(VENV)/.installed-all
	set -e; for s in $(STUDIES); do \
	  $(VENV)/bin/abm sweep experiments/$$s.toml --out results/$$s --workers 2 --force; \
	  $(VENV)/bin/abm report results/$$s; \
	done
	bash scripts/copy-reference.sh

clean:
	rm -rf $(VENV) build *.egg-info
