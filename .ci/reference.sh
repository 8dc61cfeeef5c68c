#!/usr/bin/env bash
# Parity with the reference implementations: Hugging Face transformers on PyTorch (CPU), in
# their own venv (.venv-reference) beside this project's TensorFlow. The main suite never
# imports torch; these tests build random checkpoints with transformers, load them with
# transformer_keras.pretrained and compare outputs, hidden states, generation and tokenizer
# ids. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-reference
STAMP=$VENV/.installed

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ "$0" -nt "$STAMP" ]; then
    test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[dev,pretrained]"
    # torch 2.13.0 is the CPU build these machines keep on disk (a newer one would be a CUDA
    # build of several GB); transformers is pinned to the release the tests were written on.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0" "transformers==5.24.0" \
        tokenizers sentencepiece
    touch "$STAMP"
fi

export TF_CPP_MIN_LOG_LEVEL=2 TOKENIZERS_PARALLELISM=false
"$VENV/bin/python" - <<'PY'
import tensorflow as tf
import torch
import transformers

print(f"tensorflow {tf.__version__}, torch {torch.__version__}, transformers {transformers.__version__}")
PY
exec "$VENV/bin/python" -m pytest tests/reference -q -n 2 -p no:cacheprovider "$@"
