# mlops-workbench: every target creates or updates the local .venv from pyproject.toml on its own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test tests-beside bench docs lint clean venv browser postgres java airflow-check widgets-bundle

# uv installs the same requirements as pip in less than half the time (a cold install: about 80 s against 3 min);
# pip takes over if uv cannot run here. --compile-bytecode, as pip does: where PYTHONDONTWRITEBYTECODE is set, a
# venv without .pyc files compiles every module again in every process (the test suite took 1.7 times as long).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev]" || $(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

# Debian's chromium for the browser tests (never a browser downloaded by a test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium >/dev/null)

# Debian's PostgreSQL server binaries, for the throwaway clusters of the tracking-server and feedback-store tests.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql >/dev/null)

# A Java runtime for Spark's local mode (the Spark test runs `local[2]`).
java:
	@command -v java >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q openjdk-17-jre-headless >/dev/null)

# Airflow's own DagBag loads the DAG file `mlops-wb schedule --format airflow` writes, in a virtual environment of
# its own (Airflow is not a workbench dependency). Not part of `make test`, long enough already; uv builds it in about 20 s.
AIRFLOW_VENV := .venv-airflow
airflow-check: venv
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(BIN)/uv pip install --quiet --python $(AIRFLOW_VENV)/bin/python apache-airflow || $(AIRFLOW_VENV)/bin/python -m pip install --quiet apache-airflow
	$(BIN)/python tools/airflow_check.py $(AIRFLOW_VENV)/bin/python

demo: venv
	$(BIN)/mlops-wb demo --dir .

# The gates nbdev projects use: clean and export leave no diff, then the notebook tests beside pytest, then ruff.
test: venv browser postgres java
	$(BIN)/nbdev-clean
	@git diff --exit-code --stat -- nbs || (echo "nbdev-clean changed notebooks: commit them clean" && exit 1)
	$(BIN)/nbdev-export
	@git diff --exit-code --stat -- mlops_workbench || (echo "nbdev-export changed the library: export and commit" && exit 1)
	@test -z "$$(git status --porcelain --untracked-files=all -- mlops_workbench)" || (git status --short -- mlops_workbench && echo "untracked generated files" && exit 1)
	@# the pipeline runs of the pytest workers and of the notebook tests all fork their kernels from one
	@# preloaded-kernels process (tools/with_preloaded.py, tests/conftest.py), which imports what they need once
	@$(BIN)/python tools/with_preloaded.py $(MAKE) --no-print-directory tests-beside
	$(BIN)/ruff check mlops_workbench tests benchmarks

# part of `make test`: the notebook tests run beside pytest (both are CPU-bound: side by side, no core waits for the
# other's last tests); their output is printed after pytest's, and either failing fails the target
tests-beside:
	@mkdir -p .make
	@echo "$(BIN)/nbdev-test --n-workers 1 > .make/nbdev-test.log (beside pytest)"
	@$(BIN)/nbdev-test --n-workers 1 > .make/nbdev-test.log 2>&1 & notebooks=$$!; \
	$(BIN)/pytest -q -n 3 --dist loadgroup --durations=25; tests=$$?; \
	wait $$notebooks; nbs=$$?; echo "== nbdev-test (exit $$nbs)"; cat .make/nbdev-test.log; \
	test $$tests -eq 0 && test $$nbs -eq 0

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b $(BENCH_ARGS) || exit 1; done

# nbdev-docs needs Quarto, which cannot be installed here: process the notebooks with nbdev and render them
# with nbconvert; README.md comes from nbs/index.ipynb.
docs: venv
	$(BIN)/python tools/build_docs.py

# The static dashboard's widget manager, mlops_workbench/share/widgets-embed.js, and its license file, rebuilt from
# js/ with the packages pinned in js/package-lock.json (esbuild; see js/build.mjs). Only this target needs node and
# npm: the built file is committed, and the package installs and runs without them.
widgets-bundle:
	cd js && npm ci --ignore-scripts --no-audit --no-fund && npm run build

lint: venv
	$(BIN)/ruff check mlops_workbench tests benchmarks
	$(BIN)/nbdev-clean
	@git diff --exit-code --stat -- nbs

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .make js/node_modules _docs _proc build dist *.egg-info .pytest_cache .ruff_cache .hypothesis demo-project mlruns.db mlartifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find reports -mindepth 1 ! -name README.md ! -name .gitkeep -exec rm -rf {} +
