# The two commands in README are the contract: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test
# The demo needs the library and the CLI only, not the test toolchain (fast from a fresh clone).
DEMO_STAMP := $(VENV)/.installed-cli

.PHONY: test test-matrix docs demo bench bench-decode bench-peers soak fuzz lint typecheck pytest \
	clean venv prometheus-tools rules redis-server

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Only the dependencies of the library and of [cli], read from pyproject.toml; the demo runs
# from the source tree, so there is no build step either.
$(DEMO_STAMP): $(PY) pyproject.toml
	$(PY) -c "import shlex, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	print(shlex.join(p['dependencies'] + p['optional-dependencies']['cli']))" \
	| xargs $(PY) -m pip install -q --no-compile
	touch $(DEMO_STAMP)

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

# Branch coverage, the CLI's subprocesses included (coverage's `patch = subprocess`): the
# whole package has a floor (fail_under in pyproject.toml); protocol/ and models/, the pure
# layers, are held at 100%.
pytest: $(STAMP) prometheus-tools redis-server
	rm -f .coverage .coverage.*
	$(VENV)/bin/pytest -q --cov --cov-report=term
	$(VENV)/bin/coverage report --fail-under=100 \
		--include='src/upbitws/protocol/*,src/upbitws/models/*'

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

test: lint typecheck rules pytest docs

# The documentation site (mkdocs-material + mkdocstrings); warnings are errors.
docs: $(STAMP)
	$(PY) scripts/gen_cli_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir site

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

demo: $(DEMO_STAMP)
	PYTHONPATH=src $(PY) -m upbitws demo --duration 8

bench: $(STAMP) redis-server
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
	rm -rf $(VENV) .venv-3.* .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.* site
