"""Parity with the reference implementations (Hugging Face transformers on PyTorch).

These tests run in `.venv-reference` (`make test-reference`), never in the main suite (whose
`make test` ignores this folder): they import torch and transformers at module level, so a
missing install is an error, not a silent skip.
"""

import os
import sys

import keras
import numpy as np
import pytest
import torch
import transformers  # noqa: F401  (an import error here names the missing package)

# The helpers of this folder (`_models`: random reference checkpoints) import by name.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seeds in NumPy, Keras and torch, in float32."""
    np.random.seed(0)
    torch.manual_seed(0)
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")
