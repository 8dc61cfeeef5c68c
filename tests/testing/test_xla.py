"""Tests of `transformer_keras.testing.xla`: the check passes on an encoder block, and fails on a
layer that applies its causal mask only eagerly and on one that cannot be compiled."""

import keras
import numpy as np
from _check_subjects import EagerOnlyCausalAttention, to_numpy
from keras import ops

from transformer_keras import testing
from transformer_keras.layers import TransformerEncoderBlock


class NumpyInCall(keras.layers.Layer):
    """Calls `.numpy()`, which exists only in eager mode: it cannot be compiled."""

    def call(self, inputs):
        return ops.convert_to_tensor(inputs.numpy() * 2.0)


def test_xla_consistency_passes_and_fails(sequence):
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    result = testing.assert_xla_consistency(block, sequence)
    assert result.max_abs_error <= 1e-5
    broken = EagerOnlyCausalAttention(num_heads=2, key_dim=4)
    causal = {"use_causal_mask": True}
    result = testing.check_xla_consistency(broken, sequence, call_kwargs=causal)
    # Compiled, the layer drops the causal mask: the figure is the mask's effect.
    eager_causal = to_numpy(broken(sequence, sequence, use_causal_mask=True))
    expected = np.abs(eager_causal - to_numpy(broken(sequence, sequence))).max()
    assert not result.passed and expected > 1e-2
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-4)
    assert "differs from the eager call" in result.details
    assert result.location["position"] < sequence.shape[1] - 1  # the last row sees everything
    failed = testing.check_xla_consistency(NumpyInCall(), sequence)
    assert not failed.passed and failed.max_abs_error == float("inf")
    assert "could not be compiled with XLA" in failed.details
