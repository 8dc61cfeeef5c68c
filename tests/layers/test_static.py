"""The static export mode (`transformer_keras.layers.static`) gives the default graph's values."""

import contextlib
import math

import numpy as np
import pytest
from keras import ops

from transformer_keras.layers import FeedForward, TransformerEncoderBlock, fast, static
from transformer_keras.models import build_causal_lm


def test_the_mode_is_scoped_and_restored_after_an_error():
    assert not static.active()
    with pytest.raises(RuntimeError), static.export_mode():
        assert static.active()
        raise RuntimeError
    assert not static.active()


def test_exact_gelu_is_x_phi_x():
    x = np.linspace(-6, 6, 101).astype("float32")
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(static.exact_gelu(x)), x * phi, atol=1e-6)


@pytest.mark.parametrize("activation", ["gelu", "geglu", "relu"])
def test_feed_forward_activation_is_the_same_in_the_mode(activation):
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    ffn = FeedForward(16, activation=activation)
    default = ops.convert_to_numpy(ffn(x))
    with static.export_mode():
        portable = ops.convert_to_numpy(ffn(x))
    np.testing.assert_allclose(portable, default, atol=1e-6)


@pytest.mark.parametrize("start", [0, 3, 6])
def test_write_positions_equals_a_slice_update(start):
    rng = np.random.default_rng(1)
    cache = rng.normal(size=(2, 2, 8, 3, 4)).astype("float32")
    update = rng.normal(size=(2, 2, 2, 3, 4)).astype("float32")
    expected = cache.copy()
    expected[:, :, start : start + 2] = update
    for mode in (False, True):
        with static.export_mode() if mode else contextlib.nullcontext():
            written = ops.convert_to_numpy(static.write_positions(cache, update, start, axis=2))
        np.testing.assert_array_equal(written, expected)


def test_an_encoder_block_skips_no_rows_in_the_mode_and_gives_the_same_values():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 8)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0, 0], [1] * 6], bool)
    block = TransformerEncoderBlock(2, 16)
    default = ops.convert_to_numpy(block(x, padding_mask=mask))
    assert fast.enabled("real_tokens")
    with static.export_mode():
        portable = ops.convert_to_numpy(block(x, padding_mask=mask))
    np.testing.assert_allclose(portable, default, atol=1e-5)
    np.testing.assert_array_equal(portable[0, 3:], 0.0)  # padded rows leave the block as zeros


def test_cached_decoding_steps_give_the_same_logits_and_cache_in_the_mode():
    model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2, num_layers=2)
    results = []
    for mode in (False, True):
        with static.export_mode() if mode else contextlib.nullcontext():
            cache = model.init_cache(2, 8)
            _, cache = model.call_with_cache(np.array([[5, 6, 7], [6, 7, 8]]), cache, 0)
            logits, cache = model.call_with_cache(np.array([[9], [3]]), cache, 3)
        results.append((ops.convert_to_numpy(logits), [ops.convert_to_numpy(c) for c in cache]))
    np.testing.assert_allclose(results[1][0], results[0][0], atol=1e-5)
    for portable, default in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(portable, default, atol=1e-6)
        np.testing.assert_array_equal(portable[:, :, 4:], 0.0)  # nothing written past the step
