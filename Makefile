# Two entry points: `make demo` (set up, run the main job) and `make test` (set up, run the tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch, used only by tests, benchmarks and interop.
TORCH := torch==2.13.0

.PHONY: demo test lint clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)" -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/rnnlab demo --out demo-run --force

test: $(VENV)/.installed
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
