# Quick start: `make demo` and `make test`. Both build .venv/ from the committed uv.lock first.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
# uv itself is pinned and installed into a private folder (no system-wide pip install needed).
UV_VERSION ?= 0.13.9
UV_HOME    ?= .cache/uv-$(UV_VERSION)
UV         := $(UV_HOME)/bin/uv
SYNC       := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --python $(PYTHON) --quiet

.PHONY: demo test lint bench upgrade versions clean setup

setup: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install --quiet 'uv==$(UV_VERSION)'

# `--locked`: install exactly uv.lock, and fail if pyproject.toml no longer matches it.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra dev
	@touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/rebal demo

test: $(VENV)/.installed
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(PY) -m ruff check .

# What is installed, one `name==version` a line (CI prints it before the tests).
versions: $(VENV)/.installed
	@$(UV) pip freeze --python $(PY)

# The benchmarks compare with PyPortfolioOpt and bt: the `bench` extra adds them (from the lock too).
bench: $(VENV)/.installed
	$(SYNC) --extra dev --extra bench --inexact
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Move the lock deliberately: re-resolve every package, show what changed, run the suite.
upgrade: | $(UV)
	@$(UV) pip freeze --python $(PY) 2>/dev/null | sort > .cache/versions-before.txt || true
	$(UV) lock --upgrade --python $(PYTHON)
	$(SYNC) --extra dev
	@touch $(VENV)/.installed
	@$(UV) pip freeze --python $(PY) | sort > .cache/versions-after.txt
	@echo "== changed (before -> after):"; diff .cache/versions-before.txt .cache/versions-after.txt || true
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .cache
