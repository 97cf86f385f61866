# Machine Listening course: build the book, run the tests, open JupyterLab.
# The two commands a newcomer needs are `make book` and `make test` (see README.md).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-from-pyproject
SITE := _build/html
STUDENT := _build/student
JB_STRICT := --warningiserror --nitpick --keep-going
XDIST := -n 2
# The published book always runs the chapters with their default parameters.
BOOK_ENV := env -u COURSE_FAST
# Test runs of the notebooks use the quick settings of each chapter and record their results
# away from the book's Results page.
FAST_ENV := env COURSE_FAST=1 COURSE_RESULTS=$(CURDIR)/_build/nbval/results
# Print how long a stage took: $(call timed,label,command)
timed = start=$$(date +%s); $(2); echo "[make] $(1) took $$(( $$(date +%s) - start )) s"

.PHONY: help venv toy site book test test-clean test-unit test-nbval test-site lab student \
        benchmark clean nbval-update

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

venv: $(STAMP)  ## create .venv and install the course with its dev tools

toy: venv  ## generate the toy datasets under $COURSE_DATA (default ~/.cache/machine-listening)
	$(BIN)/python -m data_scripts.make_toy

site: toy  ## execute the notebooks and build the site strictly into _build/html
	@$(call timed,site build,$(BOOK_ENV) $(BIN)/jupyter-book build . $(JB_STRICT))

book: site  ## build the book, then say how to open it
	@echo
	@echo "The book is ready: $(CURDIR)/$(SITE)/index.html"
	@echo "Open that file in a browser, or serve it and visit http://127.0.0.1:8000 :"
	@echo "    $(BIN)/python -m http.server -d $(SITE) 8000"

test: venv toy  ## run every check: notebooks clean, unit, student edition, nbval, site + browser
	@$(call timed,all tests,$(MAKE) --no-print-directory test-clean test-unit test-nbval test-site)

test-clean: venv  ## committed notebooks have no outputs and follow the cell conventions
	@$(call timed,notebook conventions,$(BIN)/python -m pytest tests/test_notebooks_clean.py -q)

test-unit: venv toy  ## unit tests of course_lib and the student edition (runs the student notebooks)
	@$(call timed,unit + student tests,$(BIN)/python -m pytest $(XDIST) -m "not site" \
		--ignore tests/test_notebooks_clean.py tests)

NBVAL_DIR := _build/nbval

test-nbval: venv toy  ## run every notebook with nbval; checked cells vs tests/nbval_reference
	$(BIN)/python tests/nbval_refs.py prepare $(NBVAL_DIR) > /dev/null
	@$(call timed,nbval,$(FAST_ENV) $(BIN)/python -m pytest $(XDIST) --dist loadscope \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider \
		--rootdir $(NBVAL_DIR) $(NBVAL_DIR))

nbval-update: venv toy  ## re-record the reference outputs of the checked notebook cells
	$(BIN)/python tests/nbval_refs.py update

test-site: site  ## build the site, then check every page in headless Chromium
	@$(call timed,browser checks,COURSE_SITE_DIR=$(SITE) $(BIN)/python -m pytest -m site \
		tests/test_site.py)

lab: venv toy  ## open JupyterLab in the course folder (chapters in notebooks/)
	$(BIN)/jupyter lab

student: venv  ## write the student edition (solutions removed) to _build/student
	$(BIN)/python -m data_scripts.make_student --out $(STUDENT)

benchmark: venv toy  ## time every notebook with its default parameters (_build/benchmark.md)
	$(BOOK_ENV) $(BIN)/python -m data_scripts.benchmark --limit 120

clean:  ## remove build output and caches (keeps .venv and the data under $COURSE_DATA)
	rm -rf _build .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
