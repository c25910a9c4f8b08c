# Quick start: `make demo` and `make test`. Both set up a virtual environment with uv first.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
UV     := $(PYTHON) -m uv

.PHONY: demo test lint bench clean setup

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(PY) || $(UV) venv --quiet -p $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(PY) -e '.[dev]'
	@touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/rebal demo

test: $(VENV)/.installed
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(PY) -m ruff check .

# The benchmarks compare with PyPortfolioOpt and bt: the `bench` extra installs them.
bench: $(VENV)/.installed
	$(UV) pip install --quiet --python $(PY) -e '.[dev,bench]'
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
