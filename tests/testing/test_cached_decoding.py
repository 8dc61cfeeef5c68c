"""Tests of `transformer_keras.testing.cached_decoding`: the check passes on attention layers and
decoder blocks (with and without cross-attention), and fails on a cache that is never updated,
in a layer and in a model decoded by `transformer_keras.decoding`."""

import keras
import numpy as np
import pytest
from _check_subjects import LM_IDS, VOCAB, WIDTH, jitter, to_numpy

from transformer_keras import testing
from transformer_keras.layers import (
    MultiHeadAttention,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)


class StaleCacheAttention(MultiHeadAttention):
    """Reads the cache but returns it unchanged: it is never updated."""

    def call(self, query, value=None, key=None, cache=None, **kwargs):
        outputs = super().call(query, value, key, cache=cache, **kwargs)
        if cache is None:
            return outputs
        return outputs[:-1] + (cache,)


class StaleCacheDecoderBlock(TransformerDecoderBlock):
    """A decoder block that hands back the cache it was given, never the updated one."""

    def call(self, decoder_sequence, encoder_sequence=None, self_attention_cache=None, **kwargs):
        outputs = super().call(
            decoder_sequence, encoder_sequence, self_attention_cache=self_attention_cache, **kwargs
        )
        if self_attention_cache is None:
            return outputs
        return outputs[:-1] + (self_attention_cache,)


def test_cached_decoding_passes_on_attention_and_decoder_blocks(sequence, encoder_sequence):
    attention = MultiHeadAttention(num_heads=2, key_dim=4, num_key_value_heads=1)
    result = testing.assert_cached_decoding(attention, sequence)
    assert result.max_abs_error <= 1e-5 and "prefill of 3" in result.details
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, norm_first=True)
    assert testing.check_cached_decoding(block, sequence).passed
    cross = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    result = testing.check_cached_decoding(cross, (sequence, encoder_sequence))
    assert result.passed and "cross-attention cache" in result.details


def test_cached_decoding_fails_on_a_cache_that_is_never_updated(sequence):
    stale = StaleCacheAttention(num_heads=2, key_dim=4)
    result = testing.check_cached_decoding(stale, sequence, prefill=0)
    # Recompute the figure: one token at a time, each step sees an empty cache.
    full = to_numpy(stale(sequence, sequence, use_causal_mask=True))
    steps = []
    for t in range(sequence.shape[1]):
        piece = sequence[:, t : t + 1]
        output, _ = stale(piece, piece, cache=stale.init_cache(2, 8), cache_index=t)
        steps.append(to_numpy(output))
    expected = np.abs(np.concatenate(steps, axis=1) - full).max()
    assert not result.passed and expected > 1e-2
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-6)
    assert result.location["position"] >= 1  # the first step has nothing cached yet
    assert "the cache is not written or read correctly" in result.details
    with pytest.raises(AssertionError, match="cached decoding check failed"):
        testing.assert_cached_decoding(StaleCacheDecoderBlock(2, 16), sequence)


def _stale_cache_lm():
    """A causal LM with the builders' layer names whose decoder block never updates its cache."""
    keras.utils.set_random_seed(8)
    token_ids = keras.Input(shape=(8,), dtype="int32", name="token_ids")
    embedding = TokenAndPositionEmbedding(
        VOCAB, 8, WIDTH, mask_zero=True, positional="learned", name="token_embedding"
    )
    x = embedding(token_ids)
    x = StaleCacheDecoderBlock(2, 16, dropout=0.0, name="decoder_block_0")(x)
    return jitter(keras.Model(token_ids, embedding(x, reverse=True)), 0.5, seed=1)


def test_cached_decoding_fails_on_a_model_whose_cache_is_never_updated():
    # (That it passes on build_causal_lm and build_seq2seq models: see run_all_checks.)
    broken = testing.check_cached_decoding(_stale_cache_lm(), LM_IDS)
    assert not broken.passed and broken.max_abs_error > 1e-3
    # The prompt is the 3 leading real tokens: differences start after it.
    assert broken.location["position"] >= 3
    assert "Cached greedy decoding differs from uncached greedy decoding" in broken.details


def test_cached_decoding_does_not_apply_without_a_cache(classifier, sequence):
    with pytest.raises(testing.NotApplicableError, match="has no key/value cache"):
        testing.check_cached_decoding(TransformerEncoderBlock(2, 16), sequence)
    with pytest.raises(testing.NotApplicableError, match="cannot decode this model"):
        testing.check_cached_decoding(classifier, LM_IDS)
