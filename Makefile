# 1022 — every install step lives here; `make run` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install model tools run test lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (the embedded store ships for CPython 3.11 only)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## create the virtualenv and install everything

MODEL  := services/classifier/artifacts/model.joblib
MODEL_INPUTS := $(wildcard services/classifier/corpus/*/*.jsonl services/classifier/*.py services/classifier/config/*.json)

$(MODEL): $(STAMP) $(MODEL_INPUTS)
	$(PY) -m services.classifier train

model: install $(MODEL) ## train the classifier when it is missing or its corpus or code changed

run: install model ## start broker, store and all services with demo data; Ctrl-C stops all
	$(PY) -m shared.devstack run

# The browser tests drive Debian's chromium (a test tool's own browser download fails here);
# the deployment tests check the replica-set script with node.
tools: ## install Debian's chromium and nodejs for the tests when missing (needs root)
	@command -v chromium >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || { \
	  apt-get update -q && apt-get install -y -q chromium nodejs; }

test: install model tools ## run the whole suite (tests start their own broker and store)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install ## ruff
	$(VENV)/bin/ruff check .

bench: install model ## benchmarks: intake vs raw store writes, classifier speed, tracker, pages
	$(PY) -m bench.intake_bench
	$(PY) -m bench.classifier_bench
	$(PY) -m bench.tracker_bench
	$(PY) -m bench.pages_bench

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) .run .pytest_cache
