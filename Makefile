# trendscout: `make run` sets up .venv and runs the nightly job; `make test` sets up and runs the tests.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where no internet is available, the nightly job reads CORDIS from a local copy of the distribution
# when one lies beside the checkout (a tarball of the per-project XML files); otherwise from CORDIS.
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
	TRENDSCOUT_SOURCES__CORDIS__URLS='["$(abspath $(CORDIS_MIRROR))"]' $(BIN)/trendscout nightly --digest
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
