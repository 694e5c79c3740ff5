# gpucast: `make run` plans a sample workload, `make test` runs lint + tests, `make bench` prints figures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint calibrate clean

$(BIN)/gpucast: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/gpucast
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/gpucast
	$(BIN)/gpucast forecast --mode inference --model llama-3.1-70b --rps 10 --input-tokens 500 --output-tokens 200 --precision FP16 --gpu-type H100-80GB --cost

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_plan.py

calibrate: $(VENV)/.dev
	$(BIN)/python scripts/calibrate.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
