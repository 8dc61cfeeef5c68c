# Everything a newcomer needs: `make demo` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-jax test-reference lint format venv benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,examples]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/text_classification.py --output-dir runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -n 2 --dist loadfile -q --ignore=tests/reference

# The layer, model and training tests again under KERAS_BACKEND=jax, in .venv-jax (no TensorFlow).
test-jax:
	PYTHON=$(PYTHON) .ci/jax.sh

# Value parity with Hugging Face transformers (PyTorch), in .venv-reference.
test-reference:
	PYTHON=$(PYTHON) .ci/reference.sh

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

benchmark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[benchmark]"
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-jax .venv-reference runs .pytest_cache
