"""Inputs of the wrong shape or kind are refused, saying what the model takes."""

import numpy as np
import pytest

from transformer_keras.explore._collect import collect


@pytest.mark.parametrize(
    "inputs, message",
    [
        (np.zeros((2, 7), "int32"), r"must have shape \('batch', 12\).*Received: shape=\(2, 7\)"),
        (np.zeros((2, 12, 1), "int32"), r"must have shape \('batch', 12\)"),
        (np.array([["a"] * 12]), "holds strings.*tokenize"),
        ([[1, 2], [3]], "rectangular array"),
        (np.full((1, 12), 0.5), "integer token ids"),
        (np.zeros((0, 12), "int32"), "no examples"),
        ({"tokens": np.ones((1, 12), "int32")}, r"exactly the model's inputs \['token_ids'\]"),
        (np.zeros((2, 12), "int32"), "Example 0 has no real token"),
    ],
)
def test_inputs_of_the_wrong_shape_or_kind_are_refused(causal_lm, inputs, message):
    model, _ = causal_lm
    with pytest.raises(ValueError, match=message):
        collect(model, inputs)
