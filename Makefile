# The two commands in README are the contract: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: test demo bench bench-decode bench-peers soak lint typecheck pytest clean venv \
	prometheus-tools rules

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/ruff check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict

pytest: $(STAMP) prometheus-tools
	$(VENV)/bin/pytest -q

# promtool and the prometheus server (Debian package `prometheus`): deploy/ rule tests and the
# real-Prometheus integration test need them. Installed when missing (as root), never skipped.
prometheus-tools:
	@if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus; \
	  else \
	    echo "promtool/prometheus missing; install them: sudo apt-get update && sudo apt-get install -y prometheus" >&2; \
	    exit 1; \
	  fi; \
	fi

rules: prometheus-tools
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts.test.yml

test: lint typecheck rules pytest

demo: $(STAMP)
	$(VENV)/bin/upbitws demo --duration 20

bench: $(STAMP)
	$(PY) bench/run.py

bench-decode: $(STAMP)
	$(PY) bench/run.py decode

bench-peers: $(STAMP)
	$(PY) bench/run.py peers

soak: $(STAMP)
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
