# gpucast: `make run` installs everything and plans a sample workload, `make test` runs lint + docs + tests,
# `make install` only installs, `make docs` builds the documentation site, `make bench` prints figures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run install test bench lint docs calibrate clean

# every extra (pyproject.toml's [all]): predict, the database commands and serve work after `make run`
$(BIN)/gpucast: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

$(VENV)/.dev: $(BIN)/gpucast
	$(BIN)/pip install --quiet -e '.[all,dev]'
	touch $@

install: $(BIN)/gpucast

run: install
	$(BIN)/gpucast forecast --mode inference --model llama-3.1-70b --rps 10 --input-tokens 500 --output-tokens 200 --precision FP16 --gpu-type H100-80GB --cost

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs: $(VENV)/.dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_plan.py

calibrate: $(VENV)/.dev
	$(BIN)/python scripts/calibrate.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
