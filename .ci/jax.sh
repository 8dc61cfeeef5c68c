#!/usr/bin/env bash
# The layer, model and training tests under KERAS_BACKEND=jax, in their own venv (.venv-jax)
# without TensorFlow: the layers and models are keras.ops only. Extra arguments go to pytest.
# Decoding, text, export and SavedModel need TensorFlow and are not run here; the checkpoints
# of transformer_keras.pretrained load and round-trip under JAX (their tokenizers are TF ops).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv-jax
STAMP=$VENV/.installed

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ "$0" -nt "$STAMP" ]; then
    test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet \
        "jax==0.10.2" "jaxlib==0.10.2" "keras==3.15.1" numpy scikit-learn pytest pytest-xdist \
        hypothesis safetensors
    # --no-deps: the package's dependency list names tensorflow, which this run must not need.
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
    touch "$STAMP"
fi

export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=2
# Eager JAX compiles each op for each new shape (much of this run's time): keep the compiled
# programs between runs. Keyed by the jax version and flags; delete the folder to reset it.
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$PWD/$VENV/jax-cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=${JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS:-0}
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=${JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES:-0}
"$VENV/bin/python" - <<'EOF'
import importlib.util

import jax
import keras

assert keras.backend.backend() == "jax", keras.backend.backend()
assert importlib.util.find_spec("tensorflow") is None, "tensorflow must not be in .venv-jax"
print(f"keras {keras.__version__} on jax {jax.__version__} ({jax.default_backend()})")
EOF
exec "$VENV/bin/python" -m pytest tests/layers tests/models tests/training \
    tests/test_properties.py tests/test_gpu_attention_check.py tests/pretrained/test_checkpoints.py \
    -q -n 2 -p no:cacheprovider "$@"
