# The two commands in README are the contract: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: test demo bench bench-decode bench-peers soak fuzz lint typecheck pytest clean venv

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

pytest: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

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

# The frame-path fuzz test at 500k cases (make test runs 10k); UPBITWS_FUZZ_EXAMPLES overrides.
fuzz: $(STAMP)
	UPBITWS_FUZZ_EXAMPLES=$${UPBITWS_FUZZ_EXAMPLES:-500000} $(VENV)/bin/pytest -q -o timeout=0 \
		--hypothesis-show-statistics tests/client/test_frame_fuzz.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
