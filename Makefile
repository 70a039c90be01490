# Every target installs what it needs into .venv on first use, so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test test-airflow2 lint demo bench docs clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test,docs]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check airflow_provider_encord tests example_dags benchmarks scripts
	$(BIN)/ruff format --check airflow_provider_encord tests example_dags benchmarks scripts

test: install lint
	$(BIN)/python -m pytest
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The example pipeline against the local Encord emulator, with a summary (no Encord account needed).
demo: install
	$(BIN)/python scripts/demo.py

# The documentation site, built into site/ (fails on any warning).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The streaming COCO export against the SDK's exporter (installs encord[coco] into benchmarks/.venv-sdk once).
BENCH_ARGS ?=
bench: install
	$(BIN)/python benchmarks/coco_export.py $(if $(wildcard benchmarks/.venv-sdk/bin/python),,--setup-sdk) $(BENCH_ARGS)

# The same test suite on the oldest supported versions (Airflow 2.11 and the lowest common-compat the
# package accepts), in its own virtualenv. The FAB provider is there as in any 2.11 deployment with a web
# server: it brings the form libraries the 2.11 connection form of the hook is built with.
AIRFLOW2_VENV ?= .venv-airflow2
AIRFLOW2_VERSION ?= 2.11.2
COMPAT_FLOOR := $(shell sed -n 's/.*"apache-airflow-providers-common-compat>=\([0-9.]*\)".*/\1/p' pyproject.toml)
$(AIRFLOW2_VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(AIRFLOW2_VENV)
	$(AIRFLOW2_VENV)/bin/python -m pip install --quiet --upgrade uv
	$(AIRFLOW2_VENV)/bin/uv pip install --quiet --python $(AIRFLOW2_VENV)/bin/python \
		"apache-airflow==$(AIRFLOW2_VERSION)" "apache-airflow-providers-common-compat==$(COMPAT_FLOOR)" \
		apache-airflow-providers-fab -e '.[test,docs]'
	touch $@

test-airflow2: $(AIRFLOW2_VENV)/.installed
	$(AIRFLOW2_VENV)/bin/python -m pytest

clean:
	rm -rf $(VENV) $(AIRFLOW2_VENV) .pytest_cache .ruff_cache .demo site
