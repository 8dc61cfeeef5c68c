"""Tests of `transformer_keras.testing.causality`: the check passes on causal attention, decoder
blocks and LMs, and fails, with a located message and the error figure recomputed from the
inputs it fed, on attention that ignores its causal mask and on a bidirectional encoder."""

import re

import keras
import numpy as np
import pytest
from _check_subjects import LM_IDS, VOCAB, WIDTH, LeakyAttention

from transformer_keras import testing
from transformer_keras.layers import MultiHeadAttention, TransformerDecoderBlock
from transformer_keras.models import build_token_classifier


class Spy:
    """A callable that records its inputs and applies `function`."""

    def __init__(self, function):
        self.function = function
        self.inputs = []

    def __call__(self, x):
        self.inputs.append(np.array(x))
        return self.function(x)


def test_causality_passes_on_causal_attention_decoder_block_and_lm(
    sequence, encoder_sequence, causal_lm
):
    attention = MultiHeadAttention(num_heads=2, key_dim=4)
    result = testing.check_causality(attention, sequence, call_kwargs={"use_causal_mask": True})
    assert result.passed and result.max_abs_error <= 1e-5 and result.tolerance == 1e-5
    assert result.location["perturbed_after"] in range(5)
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    assert testing.check_causality(block, (sequence, encoder_sequence)).passed
    result = testing.assert_causality(causal_lm, LM_IDS)
    assert result.max_abs_error <= 1e-5
    # The perturbation did reach the later outputs: the check was not vacuous.
    sensitivity = re.search(r"changed by up to ([0-9.e+-]+)\)", result.details)
    assert float(sensitivity.group(1)) > 1e-2


def test_causality_fails_on_attention_that_ignores_the_causal_mask(sequence):
    leaky = LeakyAttention(num_heads=2, key_dim=4)
    result = testing.check_causality(leaky, sequence, call_kwargs={"use_causal_mask": True})
    assert not result.passed and result.status == "failed"
    assert result.max_abs_error > 1e-2
    location = result.location
    assert location["position"] <= location["perturbed_after"]
    assert f"position {location['position']} (batch row {location['batch']})" in result.details
    with pytest.raises(AssertionError) as info:
        testing.assert_causality(leaky, sequence, call_kwargs={"use_causal_mask": True})
    message = str(info.value)
    assert "causality check failed" in message and "tolerance 1e-05" in message
    assert "depends on future positions" in message
    # Without the causal mask the real layer is not causal either.
    assert not testing.check_causality(MultiHeadAttention(2, 4), sequence).passed


def test_causality_fails_on_a_bidirectional_encoder_of_token_ids():
    keras.utils.set_random_seed(5)
    model = build_token_classifier(
        VOCAB, 4, 8, embedding_dim=WIDTH, num_heads=2, num_layers=1, intermediate_dim=16
    )
    result = testing.check_causality(model, LM_IDS, position=2)
    assert not result.passed and result.max_abs_error > 1e-3
    assert result.location["perturbed_after"] == 2 and result.location["position"] <= 2
    assert "token ids after position 2" in result.details


def test_causality_error_figure_and_perturbations_match_the_recorded_inputs():
    """A layer whose output t reads input t + 1: the reported error is recomputed from the
    inputs the check actually fed, and those follow the documented perturbation."""
    x = np.random.default_rng(2).normal(size=(3, 5, 2))

    def leak(inputs):
        return inputs + 0.5 * np.roll(inputs, -1, axis=1) * (np.arange(5) < 4)[None, :, None]

    spy = Spy(leak)
    result = testing.check_causality(spy, x, atol=1e-9)
    reference, *perturbed = spy.inputs
    np.testing.assert_array_equal(reference, x)
    assert len(perturbed) == 4  # positions 0..3
    expected = 0.0
    for t, inputs in enumerate(perturbed):
        np.testing.assert_array_equal(inputs[:, : t + 1], x[:, : t + 1])
        assert np.all(inputs[:, t + 1 :] != x[:, t + 1 :])
        change = np.abs(leak(inputs) - leak(x))[:, : t + 1].max()
        np.testing.assert_allclose(change, 0.5 * np.abs(inputs - x)[:, t + 1].max())
        expected = max(expected, change)
    assert not result.passed
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-12)


def test_causality_replacement_ids_are_valid_and_never_padding():
    ids = np.array([[1, 2, 3, 4, 0, 0], [4, 4, 4, 4, 4, 4]])
    spy = Spy(lambda x: np.cumsum(x, axis=1).astype("float64"))
    result = testing.check_causality(spy, ids, vocabulary_size=5, pad_id=0)
    assert result.passed and result.max_abs_error == 0.0
    for t, inputs in enumerate(spy.inputs[1:]):
        after = inputs[:, t + 1 :]
        assert np.all(after != ids[:, t + 1 :]) and np.all((after >= 1) & (after < 5))
    with pytest.raises(testing.NotApplicableError, match="vocabulary"):
        testing.check_causality(spy, ids, vocabulary_size=2, pad_id=0)


def test_causality_rejects_bad_positions(sequence):
    attention = MultiHeadAttention(2, 4)
    with pytest.raises(ValueError, match=r"`position` must be in \[0, 4\]"):
        testing.check_causality(attention, sequence, position=5)
    with pytest.raises(ValueError, match="at least 2 positions"):
        testing.check_causality(attention, sequence[:, :1])
