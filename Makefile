# Everything a newcomer needs: `make demo` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-jax test-reference lint docs format venv benchmark clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,examples,docs]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/text_classification.py --output-dir runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site (mkdocs.yml) into site/; --strict turns every warning (a broken link, a
# docstring mkdocstrings cannot parse) into a failure.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

# Debian's Chromium for the explorer's browser tests (tests/explore, driven by Playwright with
# executable_path, which downloads no browser): installed with apt-get when it is missing and
# this runs as root, as in CI (a failed install fails the run); elsewhere those tests skip and
# say why.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "No chromium and no root apt-get: the browser tests (tests/explore) will skip"; \
	fi

test: $(STAMP) lint docs browser
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

# The interleaved suite (classifier, BERT-base and GPT-2-small shapes against KerasHub), then
# run.py's throughput, FLOP utilisation and op profile; JSON reports into runs/benchmark/.
benchmark: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[benchmark]"
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python benchmarks/interleaved.py --output runs/benchmark/interleaved.json
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python benchmarks/run.py --output runs/benchmark/run.json

clean:
	rm -rf $(VENV) .venv-jax .venv-reference runs site .pytest_cache
