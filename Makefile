# One command each; CI runs `make test` (through .ci/run).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install browser demo run worker test test-unit test-integration bench lint format clean

help:
	@echo "make demo   - start embedded Redis + API + 1 worker, transcribe a sample, stop"
	@echo "make run    - the same stack in the foreground (API on \$$PORT, default 8000); Ctrl-C stops it"
	@echo "make worker - only the RQ workers of this STT server (start_worker.sh)"
	@echo "make test   - lint, type check, unit and integration tests"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - the benchmarks on the real stack; writes docs/PERFORMANCE.md (about 20 min)"

$(STAMP): requirements.txt requirements-dev.txt
	test -d $(VENV) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The upload page is tested in a real headless Chromium: Debian's package, never a browser download.
browser:
	@command -v chromium >/dev/null || { \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

demo: $(STAMP)
	$(PY) back-end/demo.py

run: $(STAMP)
	$(PY) back-end/stack.py

worker: $(STAMP)
	./start_worker.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy back-end client

test: lint browser
	$(VENV)/bin/pytest

test-unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit

test-integration: $(STAMP) browser
	$(VENV)/bin/pytest tests/integration

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf data test-output .pytest_cache .mypy_cache .ruff_cache
