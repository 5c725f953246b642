# The two commands in README are the contract: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: redis-server test demo bench bench-decode bench-peers soak lint typecheck pytest clean venv

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

# tests/redis_streams start real redis-server processes (Debian package): install it when
# missing (as root), else stop with the exact command. Never a silent skip.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing redis-server (Debian package) for tests/redis_streams"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server; \
	  else \
	    echo "error: tests need redis-server: sudo apt-get update && sudo apt-get install -y redis-server" >&2; \
	    exit 1; \
	  fi; }

pytest: $(STAMP) redis-server
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

demo: $(STAMP)
	$(VENV)/bin/upbitws demo --duration 20

bench: $(STAMP) redis-server
	$(PY) bench/run.py

bench-decode: $(STAMP)
	$(PY) bench/run.py decode

bench-peers: $(STAMP)
	$(PY) bench/run.py peers

soak: $(STAMP)
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
