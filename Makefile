# seedflow: the two commands (`make demo`, `make test`) create or reuse .venv themselves.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
export SEEDFLOW_DATA ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(SEEDFLOW_DATA)/dagster
export PYTHONHASHSEED := 0
export TOKENIZERS_PARALLELISM := false
export RAY_USAGE_STATS_ENABLED := 0
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false
DAGSTER_PORT ?= 3000
MLFLOW_PORT ?= 5000

.PHONY: venv demo test bench ui validate dvc-roundtrip clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "seedflow needs Python 3.11 ($(PY)); set PY=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the CPU build is taken from the local wheel cache where there is one.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e '.[test]'
	# dvc pulls hydra-core/omegaconf, which pin the ANTLR 4.9 runtime; Dagster's asset-selection parser
	# (CLI --select, UI filters) is generated with ANTLR 4.13 and fails on 4.9, and omegaconf's grammar
	# fails on 4.13. DVC imports hydra only for `dvc exp` Hydra composition, which seedflow does not use,
	# so hydra-core and omegaconf are removed and the 4.13 runtime installed.
	$(BIN)/pip uninstall -q -y hydra-core omegaconf
	$(BIN)/pip install -q --no-deps "antlr4-python3-runtime==4.13.2"
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@cp orchestration/dagster.yaml $@

demo: venv $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/seedflow validate
	$(BIN)/seedflow demo

test: venv
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m pytest -m "not slow" -p no:cacheprovider

bench: venv
	$(BIN)/python -m benchmarks.run

validate: venv
	$(BIN)/seedflow validate
	$(BIN)/dagster definitions validate -w workspace.yaml

ui: venv $(DAGSTER_HOME)/dagster.yaml
	@echo "Dagster UI: http://127.0.0.1:$(DAGSTER_PORT)   MLflow UI: http://127.0.0.1:$(MLFLOW_PORT)"
	@mkdir -p $(SEEDFLOW_DATA)/mlflow
	$(BIN)/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
	  --backend-store-uri sqlite:///$(SEEDFLOW_DATA)/mlflow/mlflow.db & \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT); kill %1

dvc-roundtrip: venv
	$(BIN)/python -m pytest tests/orchestration/test_dvc.py -m "" -p no:cacheprovider

clean:
	rm -rf $(SEEDFLOW_DATA)
