# The two commands of the README:
#   make book   install everything, execute every notebook with papermill, build the book
#   make test   install everything, run the unit tests, build the book, check the site and the notebooks
# Both create the virtual environment (.venv) when it is missing. Nothing else is needed.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= quick
# Re-install only when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# Debian packages: Chromium and its driver for the browser checks of the built site, and
# MathJax with its fonts so the book typesets maths with no CDN.
SYSTEM_PACKAGES := chromium chromium-driver libjs-mathjax

.PHONY: install system-deps book test clean sync

install: $(STAMP)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "note: Debian packages missing:$$missing (install them with apt-get; the browser checks need chromium)"; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

## make book: papermill-execute every notebook in _toc.yml order, then render the book.
book: install system-deps
	$(BIN)/stag book --profile $(PROFILE)

## make test: the whole test suite, each piece of work once: unit tests, in up to 4 processes
## (pytest-xdist; a file's tests stay in one process; the `load` timing test runs apart, with
## `pytest -m load`); the book (papermill executes every notebook once,
## strict build); checks of the built site in headless Chromium and of the executed notebooks,
## which stand for `pytest --nbmake notebooks` (same sources, same defaults; that command still
## works on its own).
test: install system-deps
	$(BIN)/python -m pytest tests -q -m "not book and not load" -n auto --maxprocesses 4 --dist loadfile
	$(BIN)/stag book --profile quick
	$(BIN)/python -m pytest tests -q -m book

## make sync: regenerate the paired .ipynb files from the reviewed py:percent sources.
sync: install
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf _build book/executed
