# Model Portal: `make run` starts the portal with demo models; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# What the server runs from (`make run`, the benchmarks' servers): requirements.txt alone, as
# a deployment installs it. Not .venv: some libraries import what they find installed (DRF
# imports requests and pygments, scikit-learn rich), and the test tools there bring those,
# ~80 ms of every server start (bench/api_http.py --cold: 1.32 against 1.24 s).
RUN_VENV := .venv-run
RUN_PY := $(RUN_VENV)/bin/python
# MLflow for the import tests only: it cannot share .venv (see requirements-mlflow.txt).
MLFLOW_VENV := .venv-mlflow
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run dev test test-sqlite test-postgres lint format bench bench-venv clean plotly-bundle

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
	  { echo "Python 3.12 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	@echo "  · Creating $(VENV) and installing the requirements (once; about a minute)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

$(RUN_VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
	  { echo "Python 3.12 or newer is needed (found $$($(PYTHON) --version))."; exit 1; }
	@echo "  · Creating $(RUN_VENV) and installing the requirements (once; about a minute)"
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_PY) -m pip install --quiet --upgrade pip
	$(RUN_PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(MLFLOW_VENV)/.installed: requirements-mlflow.txt
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MLFLOW_VENV)/bin/python -m pip install --quiet -r requirements-mlflow.txt
	@touch $@

var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# Collected (hashed, pre-compressed) static files; redone only when a static file changes.
staticfiles/.collected: $(RUN_VENV)/.installed $(shell find static -type f 2>/dev/null)
	@echo "  · Collecting and compressing the static files (after a change to them)"
	@SECRET_KEY=collectstatic $(RUN_PY) manage.py collectstatic --noinput -v0
	@touch $@

# The portal's own modules compiled to bytecode once, as pip did for the libraries: where
# Python may not write bytecode (PYTHONDONTWRITEBYTECODE, as in many containers and on this
# project's CI machines, or a read-only checkout) every server start compiled the ~165 modules
# from source again, 0.2-0.4 s of each cold start (bench/api_http.py, cold s). A source
# changed since is compiled afresh when imported: Python checks each file's size and mtime.
PACKAGES := portal registry charts
var/.bytecode: $(RUN_VENV)/.installed $(shell find $(PACKAGES) -name '*.py' 2>/dev/null)
	@mkdir -p var
	@$(RUN_PY) -m compileall -q -j0 $(PACKAGES)
	@touch $@

# static/vendor/plotly.min.js: plotly.js with the trace types charts/ draws (vendor/plotly/).
# Only after upgrading plotly or adding a trace type; needs Node.js and npm.
plotly-bundle:
	cd vendor/plotly && npm ci --ignore-scripts --no-audit --no-fund && node build.mjs

# The portal as it runs in production (gunicorn, DEBUG off, whitenoise), with a task worker.
# `make run PORT=8001 HOST=0.0.0.0` listens elsewhere; NEW_PASSWORD=1 renews the demo login.
run: $(RUN_VENV)/.installed var/secret_key staticfiles/.collected var/.bytecode
	@SECRET_KEY=$$(cat var/secret_key) HOST=$(HOST) PORT=$(PORT) VENV=$(RUN_VENV) bin/run-portal

# Django's development server with auto-reload, DEBUG on.
dev: $(VENV)/.installed
	@DEBUG=1 HOST=$(HOST) PORT=$(PORT) DEV=1 VENV=$(VENV) bin/run-portal

test: $(VENV)/.installed $(MLFLOW_VENV)/.installed
	bin/run-tests

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(VENV)/.installed $(RUN_VENV)/.installed
	$(PY) bench/predict_one_row.py
	$(PY) bench/whatif_redraw.py
	$(PY) bench/whatif_browser.py
	$(PY) bench/compare_redraw.py
	$(PY) bench/batch_throughput.py
	$(PY) bench/api_http.py
	$(PY) bench/explain_time.py
	$(PY) bench/counterfactuals_vs_dice.py $(if $(wildcard .venv-bench/.installed),,--no-dice)
	$(PY) bench/monitoring_estimates.py $(if $(wildcard .venv-bench/.installed),,--no-nannyml)

# DiCE (and the xgboost, lightgbm and nvidia-nccl it pulls) for bench/dice_run.py only: its
# own venv, never the portal's. `make bench-venv` once, then `make bench` compares with it.
.venv-bench/.installed: requirements-bench.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet -r requirements-bench.txt
	touch $@

bench-venv: .venv-bench/.installed

clean:
	rm -rf $(VENV) $(RUN_VENV) $(MLFLOW_VENV) .venv-bench var staticfiles test-artifacts
