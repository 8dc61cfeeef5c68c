"""What the tests of `transformer_keras.testing` share: the sizes, a causal LM's token ids,
weight noise, and the broken layers that more than one check must catch.

The broken layers are small subclasses of the library's layers, each with one realistic bug;
those that only one check catches live in that check's test module.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from transformer_keras.layers import MultiHeadAttention

VOCAB = 23
WIDTH = 8

LM_IDS = np.array([[5, 6, 7, 8, 9, 0, 0, 0], [3, 4, 5, 0, 0, 0, 0, 0]])


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def jitter(model, scale=0.3, seed=0):
    """Noise on every weight, so that biases and norms matter and outputs vary."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))
    return model


class LeakyAttention(MultiHeadAttention):
    """Ignores `use_causal_mask`: every position sees the future."""

    def call(self, query, value=None, key=None, use_causal_mask=False, **kwargs):
        return super().call(query, value, key, use_causal_mask=False, **kwargs)


class EagerOnlyCausalAttention(MultiHeadAttention):
    """Applies the causal mask only when executing eagerly: traced graphs see the future."""

    def call(self, query, value=None, key=None, use_causal_mask=False, **kwargs):
        causal = use_causal_mask and tf.executing_eagerly()
        return super().call(query, value, key, use_causal_mask=causal, **kwargs)
