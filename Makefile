# trendscout: `make run` sets up .venv and runs the nightly job; `make test` sets up and runs the tests.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where a local copy of the CORDIS distribution lies beside the checkout (a tarball of the per-project
# XML files, as on machines without internet), the nightly job reads CORDIS from it and crawls no
# other source; otherwise it crawls every enabled source from the web.
CORDIS_MIRROR ?= $(wildcard ../shared/data/cordis-horizon-europe/original/horizon-projects-xml.tar.xz)

.PHONY: setup run test test-fast lint bench clean

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: 2.13.0 is the CPU wheel; anything else may pull a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
ifneq ($(CORDIS_MIRROR),)
	TRENDSCOUT_SOURCES__CORDIS__URLS='["$(abspath $(CORDIS_MIRROR))"]' $(BIN)/trendscout nightly --source cordis --digest
else
	$(BIN)/trendscout nightly --digest
endif

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not integration"

lint: setup
	$(BIN)/ruff check crawlers nlp pipelines tests benchmarks

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
