# One-word tasks. Every target bootstraps .venv from the hash-locked requirements.txt when it is
# missing, half-built or older than the lock (scripts/bootstrap-venv.sh: a pinned pip first, then the
# lock), so a fresh clone needs nothing but Python 3.11 and make.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := klaviyo_analytics klaviyo_sandbox server.py api install.py live_smoke.py demo.py

.PHONY: help venv test lint fmt typecheck pytest demo sandbox serve lock clean docs bench

help:
	@echo "make demo     - run a scripted MCP session against the embedded Klaviyo sandbox"
	@echo "make test     - lint, format check, type check and the test suite with its coverage gate"
	@echo "make serve    - the REST API on 127.0.0.1:8080 (gunicorn.conf.py; settings from .env)"
	@echo "make sandbox  - run the Klaviyo sandbox alone on loopback (for curl and REST trials)"
	@echo "make smoke    - live smoke checks (sandbox by default; ACCOUNT=name for real Klaviyo)"
	@echo "make docs     - regenerate the tool reference (docs/tools.md), scopes table, .env.example and docs/configuration.md"
	@echo "make bench    - product benchmarks against the time-scaled sandbox (figures in BENCHMARKS.md)"
	@echo "make fuzz     - the long REST and MCP fuzz (schemathesis + hypothesis)"
	@echo "make lock     - recompile requirements*.txt from requirements*.in (with hashes)"

SDK25 := $(VENV)/sdk/klaviyo-api-25

venv: $(STAMP) $(SDK25)/.installed

$(STAMP): requirements.txt requirements-bootstrap.txt scripts/bootstrap-venv.sh
	@PY="$(PY)" scripts/bootstrap-venv.sh $(VENV) requirements.txt

# A second Klaviyo SDK release beside the venv's (one venv holds one release): the SDK contract test
# runs it in a subprocess with this directory first on PYTHONPATH.
$(SDK25)/.installed: requirements-sdk25.txt $(STAMP)
	@rm -rf $(SDK25)
	$(BIN)/python -m pip --disable-pip-version-check --no-input install --quiet --require-hashes --no-deps \
		--target $(SDK25) -r requirements-sdk25.txt
	@date -u +%Y-%m-%dT%H:%M:%SZ >$@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy $(CODE)

# Two passes: the independent tests on every core (pytest-xdist; whole files per worker so module
# fixtures start once, files with slow tests first), measured by coverage with its fail_under gate;
# then the `serial` ones alone and untraced, since they hold wall-clock deadlines and 0-429 pacing
# promises that must not share the CPU, with coverage's tracer (it slows the product 1.5-4x) least of
# all. Both passes always run.
# The checkout is compiled to bytecode first: the suite starts a few hundred Python processes
# (gunicorn workers, server.py, CLIs), and where PYTHONDONTWRITEBYTECODE is set (as on our shared
# development machine) imports never write it, so each would compile the product again (≈ 0.6 s).
TEST_WORKERS ?= auto
pytest: $(STAMP) $(SDK25)/.installed
	@$(BIN)/python -m compileall -q -j 0 $(CODE) tests bench scripts >/dev/null
	@status=0; \
	$(BIN)/python -m pytest -m "not serial and not fuzz" -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--cov --cov-report=term || status=$$?; \
	$(BIN)/python -m pytest -m "serial and not fuzz" || status=$$?; \
	exit $$status

test: lint typecheck pytest

demo: $(STAMP)
	$(BIN)/python demo.py

sandbox: $(STAMP)
	$(BIN)/python -m klaviyo_sandbox

# The REST API on KLAVIYO_MCP_REST_HOST:KLAVIYO_MCP_REST_PORT (127.0.0.1:8080), as every documented gunicorn command runs it.
serve: $(STAMP)
	$(BIN)/gunicorn -c gunicorn.conf.py "api:create_app()"

docs: $(STAMP)
	$(BIN)/python -m klaviyo_analytics.render.docs

bench: $(STAMP)
	$(BIN)/python bench/bench_sandbox.py
	$(BIN)/python bench/product.py
	$(BIN)/python bench/session.py
	$(BIN)/python -m bench.floors
	$(BIN)/python -m bench.charts

lock: $(STAMP)
	$(BIN)/pip-compile --quiet --allow-unsafe --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file=requirements.prod.txt requirements.prod.in
	$(BIN)/pip-compile --quiet --allow-unsafe --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file=requirements.txt requirements.in
	$(BIN)/python scripts/bootstrap_pin.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

# The six most common questions end to end: on the sandbox, or `make smoke ACCOUNT=acme` on real Klaviyo.
.PHONY: smoke
smoke: $(STAMP)
	$(BIN)/python live_smoke.py $(if $(ACCOUNT),--account $(ACCOUNT))

# Deeper fuzzing than `make test` runs: schemathesis with every one of its checks over the live REST
# API (gunicorn + sandbox on loopback, ~4,500 cases) and hypothesis over every MCP tool (2,400
# calls); prints the counts.
.PHONY: fuzz
fuzz: $(STAMP)
	FUZZ_EXAMPLES=100 MCP_FUZZ_EXAMPLES=100 DATE_SWEEP_EXAMPLES=25 $(BIN)/python -m pytest tests/api/rest/test_fuzz.py \
		tests/api/rest/test_mcp_fuzz.py tests/product/test_date_sweep_fuzz.py -p no:cacheprovider -q -s
