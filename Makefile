# Two commands do all the set-up (see README):
#   make run    create .venv with a Python >= 3.12 found on this machine, install, run the baseline
#   make test   create .venv, install with every extra, find or install Chromium, lint (ruff)
#               and run the test suite (notebooks and mkdocs build --strict included)
VENV ?= .venv
PY := $(VENV)/bin/python
EXTRAS := test,sweep,viz,report,ema,docs
# the browser for static figures (Kaleido) and the browser tests (Playwright): Debian's chromium
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint chromium docs bench studies clean

$(PY):
	"$$(bash scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-all: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@ $(VENV)/.installed-base

run: $(VENV)/.installed-base
	$(VENV)/bin/abm run

lint: $(VENV)/.installed-all
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint chromium
	$(PY) -m pytest -q

# finds $(CHROMIUM), or installs Debian's chromium as root, or stops naming the command to run
chromium:
	@bash scripts/ensure-chromium.sh "$(CHROMIUM)"

# the documentation site into site/ (tests/test_docs.py builds it with --strict too)
docs: $(VENV)/.installed-all
	$(VENV)/bin/mkdocs build --strict

bench: $(VENV)/.installed-all
	$(PY) benchmarks/run.py

# the headline studies (issues 9, 20), each a sweep then its report: results/<study>/report/
STUDIES := study_centralisation study_small_miners sovereign_entry study_pools
studies: $(VENV)/.installed-all
	set -e; for s in $(STUDIES); do \
	  $(VENV)/bin/abm sweep experiments/$$s.toml --out results/$$s --workers 2 --force; \
	  $(VENV)/bin/abm report results/$$s; \
	done
	bash scripts/copy-reference.sh

clean:
	rm -rf $(VENV) build site *.egg-info
