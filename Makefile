# The two commands in README are the contract: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: test test-matrix demo bench bench-decode bench-peers soak lint typecheck pytest clean venv

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
	@# Issue-tracker numbers mean nothing in a checkout: name the feature or the rule instead.
	@! grep -rnIE -i 'issues? #?[0-9]' src tests bench docs \
		|| { echo 'lint: name the feature or the rule instead of an issue number (lines above)'; exit 1; }

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict
	$(VENV)/bin/mypy --strict tests

# Branch coverage, the CLI's subprocesses included (coverage's `patch = subprocess`): the
# whole package has a floor (fail_under in pyproject.toml); protocol/ and models/, the pure
# layers, are held at 100%.
pytest: $(STAMP)
	rm -f .coverage .coverage.*
	$(VENV)/bin/pytest -q --cov --cov-report=term
	$(VENV)/bin/coverage report --fail-under=100 \
		--include='src/upbitws/protocol/*,src/upbitws/models/*'

test: lint typecheck pytest

# The pytest suite on each supported Python, each in its own venv (.venv-3.12, ...), built from
# the pyenv interpreters of this machine image. `make test` is the full gate on 3.11.
PYENV_ROOT ?= $(HOME)/.pyenv
MATRIX     ?= 3.11 3.12 3.13

test-matrix: $(addprefix test-py,$(MATRIX))

test-py%:
	@py=$$(ls -d $(PYENV_ROOT)/versions/$*.*/bin/python 2>/dev/null | sort -V | tail -n 1); \
	if [ -z "$$py" ]; then \
		echo "test-matrix: Python $* is missing under $(PYENV_ROOT)/versions; run: pyenv install $*"; \
		exit 1; \
	fi; \
	if [ ! -f .venv-$*/.installed-test ] || [ pyproject.toml -nt .venv-$*/.installed-test ]; then \
		"$$py" -m venv .venv-$* && \
		.venv-$*/bin/python -m pip install -q --upgrade pip && \
		.venv-$*/bin/python -m pip install -q -e '.[test]' && \
		touch .venv-$*/.installed-test || exit 1; \
	fi; \
	echo "== pytest on $$(.venv-$*/bin/python --version)"; \
	.venv-$*/bin/pytest -q -p no:cov

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
	rm -rf $(VENV) .venv-3.* .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.*
