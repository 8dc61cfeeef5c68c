"""Fixtures of the tests of `transformer_keras.testing`: seeds, float sequences, and two small
models with noisy weights (a causal LM and a text classifier, both of 8 tokens).

The shared sizes and broken layers are in `_check_subjects.py`, which the test modules of this
folder import by name (this folder is put on `sys.path`).
"""

import os
import sys

import keras
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _check_subjects import VOCAB, WIDTH, jitter  # noqa: E402

from transformer_keras.models import build_causal_lm, build_text_classifier  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(7)


@pytest.fixture
def sequence():
    return np.random.default_rng(0).normal(size=(2, 6, WIDTH)).astype("float32")


@pytest.fixture
def encoder_sequence():
    return np.random.default_rng(1).normal(size=(2, 4, WIDTH)).astype("float32")


@pytest.fixture(scope="module")
def causal_lm():
    keras.utils.set_random_seed(3)
    model = build_causal_lm(
        VOCAB, 8, embedding_dim=WIDTH, num_heads=2, num_layers=1, intermediate_dim=16, dropout=0
    )
    return jitter(model)


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(4)
    model = build_text_classifier(
        VOCAB, 3, 8, embedding_dim=WIDTH, num_heads=2, num_layers=1, intermediate_dim=16
    )
    return jitter(model)
