# 1022 — every install step lives here; `make run` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install model tools run test lint bench bench-1m clean messages simulate

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

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

run: install model tools ## start broker, store, all services and Prometheus with demo data; Ctrl-C stops all
	$(PY) -m shared.devstack run

# The browser tests drive Debian's chromium (a test tool's own browser download fails here);
# the deployment tests check the replica-set script with node and the alert rules and scrape
# config with promtool; `make run` starts Prometheus itself (promtool and prometheus are both
# in Debian's prometheus package).
TOOLS := chromium node promtool prometheus
tools: ## install Debian's chromium, nodejs and prometheus when missing (needs root)
	@for tool in $(TOOLS); do command -v $$tool >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  apt-get update -q && apt-get install -y -q chromium nodejs prometheus; fi

test: install model tools ## run the whole suite (tests start their own broker and store)
	$(PY) -m pytest $(PYTEST_ARGS)

# The pages' gettext catalogues (shared/web/translations/<lang>/LC_MESSAGES/messages.po) and
# their compiled .mo, which are committed so every install path (pip, the container image)
# has them; a test fails when a .mo is older than its .po. `make messages` recompiles;
# `make messages FROM=dir` or `make messages FROM_BRANCH=branch` first brings in the keys of
# {vi,en}.json files (the JSON catalogues the pages used before gettext).
messages: install ## compile the .po catalogues (FROM=dir or FROM_BRANCH=ref: import JSON keys first)
	$(if $(FROM),$(PY) -m shared.web.catalogues import-json $(FROM))
	$(if $(FROM_BRANCH),$(PY) -m shared.web.catalogues import-json --git-ref $(FROM_BRANCH))
	$(PY) -m shared.web.catalogues compile

lint: install ## ruff
	$(VENV)/bin/ruff check .

# `make bench` sizes the large side of the tracker and figures benches to finish in minutes;
# `make bench-1m` runs them at issue 19's 1,000,000 tickets (25 to 60 minutes of loading on two
# cores; the loaded tickets are kept in .run/bench-figures-1m and reused by the next run)
BENCH_LARGE ?= 100000

bench: install model ## benchmarks: intake vs raw store writes, classifier speed, tracker, pages, figures (large side: BENCH_LARGE=100000)
	$(PY) -m bench.intake_bench
	$(PY) -m bench.classifier_bench
	BENCH_OPEN_LARGE=$(BENCH_LARGE) $(PY) -m bench.tracker_bench
	$(PY) -m bench.pages_bench
	$(PY) -m bench.figures_bench $(BENCH_LARGE)
	$(PY) -m bench.search_bench
	$(PY) -m bench.live_bench
	$(PY) -m bench.store_filters

bench-1m: install model ## the tracker and figures benches at 1,000,000 tickets beside 10,000 (issue 19; about an hour)
	BENCH_OPEN_LARGE=1000000 $(PY) -m bench.tracker_bench
	$(PY) -m bench.figures_bench 1000000 --data .run/bench-figures-1m

simulate: install model ## replay a month of the city (15,000 reports, a storm) through the running pipeline
	$(PY) -m bench.simulate $(SIMULATE_ARGS)

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) .run .pytest_cache
