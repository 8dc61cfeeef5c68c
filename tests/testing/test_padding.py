"""Tests of `transformer_keras.testing.padding`: the check passes on masked layers and on
fixed-length models, and fails, located at a real token or a pooled row, on pooling that counts
padding and on an encoder block that drops its padding mask."""

import keras
import numpy as np
import pytest
from _check_subjects import LM_IDS, VOCAB, WIDTH, to_numpy
from keras import ops

from transformer_keras import testing
from transformer_keras.layers import (
    MaskedGlobalPooling,
    MultiHeadAttention,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)


class CountsPaddingPooling(MaskedGlobalPooling):
    """Averages every position, padding included."""

    def call(self, inputs, mask=None):
        return super().call(inputs, mask=ops.ones(ops.shape(inputs)[:2], dtype="bool"))


class MaskDroppingEncoderBlock(TransformerEncoderBlock):
    """Drops its padding mask: padded keys are attended to."""

    def call(self, inputs, padding_mask=None, **kwargs):
        return super().call(inputs, padding_mask=None, **kwargs)


def test_padding_invariance_passes_on_layers_with_masks(sequence, encoder_sequence):
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    result = testing.assert_padding_invariance(block, sequence, padding_mask=mask)
    assert result.max_abs_error <= 1e-5 and "9 real positions" in result.details
    # MultiHeadAttention takes the mask as the Keras implicit mask of its inputs.
    attention = MultiHeadAttention(num_heads=2, key_dim=4)
    assert testing.check_padding_invariance(attention, sequence, padding_mask=mask).passed
    pooling = testing.check_padding_invariance(MaskedGlobalPooling(), sequence, padding_mask=mask)
    assert pooling.passed and "Pooled output" in pooling.details
    decoder = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    assert testing.check_padding_invariance(decoder, (sequence, encoder_sequence)).passed


def test_padding_invariance_passes_on_fixed_length_models(causal_lm, classifier):
    # Both models take 8 tokens: they are compared with themselves on fewer positions.
    lm = testing.check_padding_invariance(causal_lm, LM_IDS)
    assert lm.passed and "8 real positions" in lm.details
    ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 0, 0, 0]])
    result = testing.check_padding_invariance(classifier, ids)
    assert result.passed and "3 more pad ids" in result.details
    assert "position" not in result.location
    short = testing.check_padding_invariance(classifier, ids[:, :6], extra=5)
    assert short.passed and "2 more pad ids" in short.details  # only 2 fit in 8
    full = np.array([[5, 6, 7, 8, 9, 10, 11, 12]])
    with pytest.raises(testing.NotApplicableError, match="fixed length of 8"):
        testing.check_padding_invariance(classifier, full)


def test_padding_invariance_fails_on_pooling_that_counts_padding():
    keras.utils.set_random_seed(6)
    token_ids = keras.Input(shape=(None,), dtype="int32")
    x = TokenAndPositionEmbedding(VOCAB, 16, WIDTH, mask_zero=True)(token_ids)
    x = TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.0)(x)
    x = CountsPaddingPooling()(x)
    model = keras.Model(token_ids, keras.layers.Dense(3)(x))
    ids = np.array([[5, 6, 7, 0], [9, 8, 7, 6]])
    result = testing.check_padding_invariance(model, ids, extra=2)
    padded = np.pad(ids, ((0, 0), (0, 2)))
    expected = np.abs(to_numpy(model(ids)) - to_numpy(model(padded))).max()
    assert not result.passed
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-6)
    assert expected > 1e-3
    assert f"pooled output of batch row {result.location['batch']}" in result.details
    with pytest.raises(AssertionError, match="padding invariance check failed.*count padded"):
        testing.assert_padding_invariance(model, ids)


def test_padding_invariance_fails_on_an_encoder_block_that_drops_its_mask(sequence):
    block = MaskDroppingEncoderBlock(num_heads=2, intermediate_dim=16)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    result = testing.check_padding_invariance(block, sequence, padding_mask=mask)
    assert not result.passed and result.max_abs_error > 1e-3
    batch, position = result.location["batch"], result.location["position"]
    assert mask[batch, position]  # the error is at a real token
    assert f"real token at position {position} (batch row {batch})" in result.details


def test_padding_invariance_rejects_padding_mask_with_token_ids(classifier):
    with pytest.raises(ValueError, match="mark their padding with `pad_id`"):
        testing.check_padding_invariance(classifier, LM_IDS, padding_mask=LM_IDS != 0)
