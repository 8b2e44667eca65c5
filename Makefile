# The two commands of the README:
#   make book   install everything, execute every notebook with papermill, build the book
#   make test   install everything, run the unit tests and `pytest --nbmake` over the notebooks
# Both create the virtual environment (.venv) when it is missing. Nothing else is needed.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= quick
# Re-install only when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install book notebooks html test unit nbmake clean sync

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

## make book: papermill-execute every notebook in _toc.yml order, then render the book.
book: install
	$(BIN)/stag book --profile $(PROFILE)

## make test: the whole test suite (unit tests, then every notebook under nbmake).
test: install
	$(BIN)/python -m pytest tests -q
	$(BIN)/python -m pytest --nbmake notebooks -q -p no:cacheprovider

## make sync: regenerate the paired .ipynb files from the reviewed py:percent sources.
sync: install
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf _build book/executed
