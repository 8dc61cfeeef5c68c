"""Tests of TransformerDecoderBlock: reference values, causality, padding and the caches."""

import keras
import numpy as np
import pytest
from keras.src import testing
from keras.src.backend import get_keras_mask, set_keras_mask

from transformer_keras.layers import (
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

B, T, S, D = 2, 5, 6, 8
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, D)).astype("float32")
ENCODER = RNG.normal(size=(B, S, D)).astype("float32")
ENCODER_PADDING = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
DECODER_PADDING = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], bool)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _block(ref, encoder=True, **kwargs):
    kwargs.setdefault("num_heads", 2)
    kwargs.setdefault("intermediate_dim", 16)
    kwargs.setdefault("dropout", 0.0)
    block = TransformerDecoderBlock(**kwargs)
    block.build(X.shape, ENCODER.shape if encoder else None)
    ref.perturb_weights(block, scale=0.3)
    return block


def _changed_after(x, t, seed=0):
    changed = x.copy()
    changed[:, t + 1 :] = np.random.default_rng(seed).normal(size=changed[:, t + 1 :].shape)
    return changed


# ---------------------------------------------------------------------------------------------
# Values against the NumPy reference.


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_matches_reference_with_encoder(ref, norm_first):
    block = _block(ref, norm_first=norm_first)
    expected = ref.decoder_block(block, X, ENCODER)
    np.testing.assert_allclose(block(X, ENCODER), expected, atol=1e-4)
    out = block(
        X, ENCODER, decoder_padding_mask=DECODER_PADDING, encoder_padding_mask=ENCODER_PADDING
    )
    expected = ref.decoder_block(
        block,
        X,
        ENCODER,
        self_mask=DECODER_PADDING[:, None],
        cross_mask=ENCODER_PADDING[:, None],
        padding=DECODER_PADDING,
    )
    np.testing.assert_allclose(out, expected, atol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_matches_reference_decoder_only(ref, norm_first):
    block = _block(ref, encoder=False, norm_first=norm_first, activation="gelu")
    assert not block.has_cross_attention
    assert len(block.trainable_weights) == 16
    np.testing.assert_allclose(block(X), ref.decoder_block(block, X), atol=1e-4)


def test_attention_scores(ref):
    block = _block(ref)
    out, scores = block(
        X, ENCODER, encoder_padding_mask=ENCODER_PADDING, return_attention_scores=True
    )
    assert set(scores) == {"self_attention", "cross_attention"}
    self_scores, cross_scores = _np(scores["self_attention"]), _np(scores["cross_attention"])
    assert self_scores.shape == (B, 2, T, T) and cross_scores.shape == (B, 2, T, S)
    np.testing.assert_array_equal(np.triu(self_scores, k=1), 0.0)
    np.testing.assert_array_equal(cross_scores[0, :, :, 4:], 0.0)
    np.testing.assert_allclose(cross_scores.sum(-1), 1.0, atol=1e-5)
    # The self-attention weights against the reference (the first sublayer sees the input).
    _, expected = ref.mha(block.self_attention, X, X, mask=ref.causal(T))
    np.testing.assert_allclose(self_scores, expected, atol=1e-5)
    np.testing.assert_allclose(
        out, block(X, ENCODER, encoder_padding_mask=ENCODER_PADDING), atol=1e-6
    )


def test_attention_masks_combine(ref):
    block = _block(ref, norm_first=True)
    decoder_mask = np.random.default_rng(1).random((B, T, T)) > 0.3
    encoder_mask = np.random.default_rng(2).random((B, T, S)) > 0.3
    encoder_mask[:, :, 0] = True
    out = block(
        X,
        ENCODER,
        encoder_padding_mask=ENCODER_PADDING,
        decoder_attention_mask=decoder_mask,
        encoder_attention_mask=encoder_mask.astype("int32"),
    )
    expected = ref.decoder_block(
        block,
        X,
        ENCODER,
        self_mask=decoder_mask,
        cross_mask=encoder_mask & ENCODER_PADDING[:, None],
    )
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_dropout_only_in_training(ref):
    block = _block(ref, dropout=0.3)
    expected = ref.decoder_block(block, X, ENCODER)
    np.testing.assert_allclose(block(X, ENCODER, training=False), expected, atol=1e-4)
    assert np.abs(_np(block(X, ENCODER, training=True)) - expected).max() > 1e-2


# ---------------------------------------------------------------------------------------------
# Causality and padding.


@pytest.mark.parametrize("encoder", [False, True], ids=["decoder_only", "with_encoder"])
def test_causality(ref, encoder):
    block = _block(ref, encoder=encoder)
    args = (ENCODER,) if encoder else ()
    out = _np(block(X, *args))
    for t in range(T - 1):
        out_changed = _np(block(_changed_after(X, t, seed=t), *args))
        np.testing.assert_allclose(out_changed[:, : t + 1], out[:, : t + 1], atol=1e-5)
        assert np.abs(out_changed[:, t + 1 :] - out[:, t + 1 :]).max() > 1e-4


def test_encoder_padding_invariance(ref):
    block = _block(ref)
    out = _np(block(X, ENCODER, encoder_padding_mask=ENCODER_PADDING))
    # Change the padded encoder positions and add more padding: nothing moves.
    encoder = np.concatenate([ENCODER, RNG.normal(size=(B, 3, D))], 1).astype("float32")
    encoder[0, 4:] = RNG.normal(size=(5, D))
    padding = np.concatenate([ENCODER_PADDING, np.zeros((B, 3), bool)], 1)
    np.testing.assert_allclose(block(X, encoder, encoder_padding_mask=padding), out, atol=1e-5)
    # The mask matters.
    assert np.abs(_np(block(X, ENCODER))[0] - out[0]).max() > 1e-3
    # The same through the implicit mask of the encoder sequence.
    masked = keras.ops.convert_to_tensor(ENCODER)
    set_keras_mask(masked, keras.ops.convert_to_tensor(ENCODER_PADDING))
    np.testing.assert_allclose(block(X, masked), out, atol=1e-5)
    np.testing.assert_array_equal(_np(get_keras_mask(masked)), ENCODER_PADDING)  # still there


def test_decoder_padding_invariance(ref):
    block = _block(ref)
    out = _np(block(X, ENCODER, decoder_padding_mask=DECODER_PADDING))
    longer = np.concatenate([X, RNG.normal(size=(B, 2, D))], 1).astype("float32")
    padding = np.concatenate([DECODER_PADDING, np.zeros((B, 2), bool)], 1)
    out_longer = _np(block(longer, ENCODER, decoder_padding_mask=padding))
    np.testing.assert_allclose(out_longer[0, :4], out[0, :4], atol=1e-5)
    np.testing.assert_allclose(out_longer[1, :5], out[1, :5], atol=1e-5)


def _seq2seq_model():
    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    encoded = TransformerEncoderBlock(2, 16, dropout=0.0)(
        TokenAndPositionEmbedding(20, 16, D, mask_zero=True)(source)
    )
    x = TokenAndPositionEmbedding(20, 16, D, mask_zero=True)(target)
    # Two decoder blocks share the encoder output (and its mask).
    first = TransformerDecoderBlock(2, 16, dropout=0.0)(x, encoded)
    second = TransformerDecoderBlock(2, 16, dropout=0.0, norm_first=True)(first, encoded)
    return keras.Model([source, target], [first, second])


def test_padding_invariance_through_a_functional_model():
    model = _seq2seq_model()
    source = np.array([[4, 5, 6, 0, 0], [7, 8, 9, 10, 11]])
    target = np.array([[1, 2, 3, 0], [3, 4, 0, 0]])
    first, second = (_np(t) for t in model([source, target]))
    longer_source = np.pad(source, ((0, 0), (0, 3)))
    longer_target = np.pad(target, ((0, 0), (0, 2)))
    for outputs in (
        model([longer_source, target]),
        model([source, longer_target]),
        model([longer_source, longer_target]),
    ):
        for out, reference in zip(outputs, (first, second)):
            out = _np(out)
            np.testing.assert_allclose(out[0, :3], reference[0, :3], atol=1e-5)
            np.testing.assert_allclose(out[1, :2], reference[1, :2], atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Incremental decoding.


def _decode(block, x, steps, encoder=None, max_length=8, **kwargs):
    cache = block.init_cache(x.shape[0], max_length)
    cross = {} if encoder is None else {"cross_attention_cache": encoder}
    outputs, index = [], 0
    for size in steps:
        out, cache = block(
            x[:, index : index + size],
            self_attention_cache=cache,
            cache_index=index,
            **cross,
            **kwargs,
        )
        outputs.append(_np(out))
        index += size
    return np.concatenate(outputs, 1), cache


@pytest.mark.parametrize("steps", [(1, 1, 1, 1, 1), (3, 1, 1)], ids=["tokens", "prompt"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_cache_decoder_only(ref, steps, norm_first):
    block = _block(ref, encoder=False, norm_first=norm_first)
    full = _np(block(X))
    decoded, cache = _decode(block, X, steps)
    np.testing.assert_allclose(decoded, full, atol=1e-5)
    assert tuple(cache.shape) == (B, 2, 8, 2, 4)


@pytest.mark.parametrize("steps", [(1, 1, 1, 1, 1), (3, 1, 1)], ids=["tokens", "prompt"])
def test_cache_with_cross_attention_cache(ref, steps):
    block = _block(ref)
    full = _np(block(X, ENCODER, encoder_padding_mask=ENCODER_PADDING))
    cross = block.compute_cross_attention_cache(ENCODER)
    assert tuple(cross.shape) == (B, 2, S, 2, 4)
    decoded, _ = _decode(block, X, steps, encoder=cross, encoder_padding_mask=ENCODER_PADDING)
    np.testing.assert_allclose(decoded, full, atol=1e-5)
    # Passing the encoder sequence at every step instead of its cache gives the same.
    cache = block.init_cache(B, 8)
    for index in range(T):
        out, cache = block(
            X[:, index : index + 1],
            ENCODER,
            encoder_padding_mask=ENCODER_PADDING,
            self_attention_cache=cache,
            cache_index=index,
        )
        np.testing.assert_allclose(out, full[:, index : index + 1], atol=1e-5)


def test_cache_with_scores(ref):
    block = _block(ref)
    cross = block.compute_cross_attention_cache(ENCODER)
    cache = block.init_cache(B, 8)
    _, cache = block(
        X[:, :3], cross_attention_cache=cross, self_attention_cache=cache, cache_index=0
    )
    out, scores, cache = block(
        X[:, 3:4],
        cross_attention_cache=cross,
        self_attention_cache=cache,
        cache_index=3,
        return_attention_scores=True,
    )
    assert tuple(scores["self_attention"].shape) == (B, 2, 1, 8)
    np.testing.assert_array_equal(_np(scores["self_attention"])[..., 4:], 0.0)
    full, full_scores = block(X[:, :4], ENCODER, return_attention_scores=True)
    np.testing.assert_allclose(out, _np(full)[:, 3:], atol=1e-5)
    np.testing.assert_allclose(
        scores["cross_attention"], _np(full_scores["cross_attention"])[:, :, 3:], atol=1e-5
    )


def test_cache_under_xla(ref, xla):
    block = _block(ref)
    cross = block.compute_cross_attention_cache(ENCODER)

    @xla
    def step(x, cache, index):
        return block(
            x,
            cross_attention_cache=cross,
            encoder_padding_mask=ENCODER_PADDING,
            self_attention_cache=cache,
            cache_index=index,
        )

    cache = block.init_cache(B, 8)
    outputs = []
    for index in range(T):
        out, cache = step(X[:, index : index + 1], cache, keras.ops.convert_to_tensor(index))
        outputs.append(_np(out))
    full = block(X, ENCODER, encoder_padding_mask=ENCODER_PADDING)
    np.testing.assert_allclose(np.concatenate(outputs, 1), full, atol=1e-5)


def test_jit_compile_matches_eager(ref, xla):
    block = _block(ref, norm_first=True)
    compiled = xla(
        lambda x, e, m: block(x, e, encoder_padding_mask=m, return_attention_scores=True),
    )
    out, scores = compiled(X, ENCODER, ENCODER_PADDING)
    eager, eager_scores = block(
        X, ENCODER, encoder_padding_mask=ENCODER_PADDING, return_attention_scores=True
    )
    np.testing.assert_allclose(out, eager, atol=1e-5)
    for name in ("self_attention", "cross_attention"):
        np.testing.assert_allclose(scores[name], eager_scores[name], atol=1e-5)
    fast = xla(lambda x, e: block(x, e))
    np.testing.assert_allclose(fast(X, ENCODER), block(X, ENCODER), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Mixed precision.


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(ref, set_policy, policy):
    set_policy(policy)
    block = _block(ref)
    dtype = block.compute_dtype
    x, encoder = keras.ops.cast(X, dtype), keras.ops.cast(ENCODER, dtype)
    out, scores = block(
        x, encoder, encoder_padding_mask=ENCODER_PADDING, return_attention_scores=True
    )
    assert keras.backend.standardize_dtype(out.dtype) == dtype
    out32 = _np(keras.ops.cast(out, "float32"))
    assert np.isfinite(out32).all()
    self_scores = _np(keras.ops.cast(scores["self_attention"], "float32"))
    cross_scores = _np(keras.ops.cast(scores["cross_attention"], "float32"))
    assert np.isfinite(self_scores).all() and np.isfinite(cross_scores).all()
    np.testing.assert_array_equal(np.triu(self_scores, k=1), 0.0)
    np.testing.assert_array_equal(cross_scores[0, :, :, 4:], 0.0)
    expected = ref.decoder_block(block, X, ENCODER, cross_mask=ENCODER_PADDING[:, None])
    np.testing.assert_allclose(out32, expected, atol=0.15 if policy == "mixed_bfloat16" else 0.03)
    # Cached decoding in mixed precision.
    cross = block.compute_cross_attention_cache(encoder)
    decoded, cache = _decode(
        block, x, (3, 1, 1), encoder=cross, encoder_padding_mask=ENCODER_PADDING
    )
    assert keras.backend.standardize_dtype(cache.dtype) == dtype
    np.testing.assert_allclose(decoded.astype("float32"), out32, atol=0.1)


# ---------------------------------------------------------------------------------------------
# Serialization.


def test_config_round_trip(ref):
    block = _block(
        ref,
        num_heads=4,
        intermediate_dim=12,
        dropout=0.2,
        activation="swiglu",
        norm_first=True,
        layer_norm_epsilon=1e-6,
        key_dim=3,
        num_key_value_heads=2,
    )
    config = block.get_config()
    clone = TransformerDecoderBlock.from_config(config)
    assert clone.get_config() == config
    clone.build(X.shape, ENCODER.shape)
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(clone(X, ENCODER), block(X, ENCODER), atol=1e-6)


def test_saving_seq2seq(tmp_path):
    model = _seq2seq_model()
    source = np.array([[4, 5, 6, 0, 0], [7, 8, 9, 10, 11]])
    target = np.array([[1, 2, 3, 0], [3, 4, 0, 0]])
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for out, expected in zip(loaded([source, target]), model([source, target])):
        np.testing.assert_allclose(out, expected, atol=1e-6)


def test_saving_decoder_only(tmp_path):
    tokens = keras.Input((None,), dtype="int32")
    x = TokenAndPositionEmbedding(20, 16, D, mask_zero=True, positional="learned")(tokens)
    x = TransformerDecoderBlock(2, 16, norm_first=True, bias_initializer="random_normal")(x)
    model = keras.Model(tokens, x)
    data = np.array([[3, 9, 4, 0], [7, 1, 1, 5]])
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(data), model(data), atol=1e-6)
    block = loaded.layers[-1]
    assert not block.has_cross_attention
    # The loaded block still decodes incrementally.
    x = _np(loaded.layers[1](data))
    decoded, _ = _decode(block, x, (2, 1, 1), max_length=4)
    np.testing.assert_allclose(decoded, block(x), atol=1e-5)


class TransformerDecoderBlockLayerTest(testing.TestCase):
    def test_run_layer_test_decoder_only(self):
        self.run_layer_test(
            TransformerDecoderBlock,
            init_kwargs={"num_heads": 2, "intermediate_dim": 16},
            input_shape=(2, 5, 8),
            expected_output_shape=(2, 5, 8),
            expected_num_trainable_weights=16,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=2,
            expected_num_losses=0,
            supports_masking=True,
        )

    def test_run_layer_test_with_encoder(self):
        self.run_layer_test(
            TransformerDecoderBlock,
            init_kwargs={"num_heads": 2, "intermediate_dim": 16, "norm_first": True},
            input_shape={"decoder_sequence_shape": (2, 5, 8), "encoder_sequence_shape": (2, 3, 6)},
            expected_output_shape=(2, 5, 8),
            expected_num_trainable_weights=26,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=3,
            expected_num_losses=0,
            supports_masking=True,
            run_training_check=False,
        )


# ---------------------------------------------------------------------------------------------
# Misuse.


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_heads": -1}, "num_heads"),
        ({"intermediate_dim": 0}, "intermediate_dim"),
        ({"num_heads": 6, "num_key_value_heads": 4}, "num_key_value_heads"),
        ({"dropout": 1}, "dropout"),
        ({"attention_dropout": -0.2}, "attention_dropout"),
    ],
)
def test_bad_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TransformerDecoderBlock(**{"num_heads": 2, "intermediate_dim": 8, **kwargs})


def test_bad_call_arguments(ref):
    with pytest.raises(ValueError, match="num_heads"):
        TransformerDecoderBlock(4, 8)(np.zeros((1, 3, 30), "float32"))
    with pytest.raises(ValueError, match="decoder_sequence"):
        TransformerDecoderBlock(2, 8)(X[0])
    with pytest.raises(ValueError, match="encoder_sequence"):
        TransformerDecoderBlock(2, 8)(X, ENCODER[0])
    decoder_only = _block(ref, encoder=False)
    with pytest.raises(ValueError, match="encoder"):
        decoder_only(X, ENCODER)
    with pytest.raises(ValueError, match="encoder"):
        decoder_only.compute_cross_attention_cache(ENCODER)
    block = _block(ref)
    with pytest.raises(ValueError, match="encoder_sequence"):
        block(X)
    with pytest.raises(ValueError, match="query"):
        block(X[:, :, :6], ENCODER)
    cache = block.init_cache(B, 8)
    with pytest.raises(ValueError, match="cache_index"):
        block(X, ENCODER, self_attention_cache=cache)
    with pytest.raises(ValueError, match="decoder_padding_mask"):
        block(
            X,
            ENCODER,
            self_attention_cache=cache,
            cache_index=0,
            decoder_padding_mask=DECODER_PADDING,
        )
    with pytest.raises(ValueError, match="encoder_padding_mask"):
        block(X, ENCODER, encoder_padding_mask=np.ones((B, S + 1), bool))
    with pytest.raises(ValueError, match="decoder_padding_mask"):
        block(X, ENCODER, decoder_padding_mask=np.ones((B, T + 1), bool))
    with pytest.raises(ValueError, match="decoder_attention_mask"):
        block(X, ENCODER, decoder_attention_mask=np.ones((B, T, T + 1), bool))
    with pytest.raises(ValueError, match="encoder_attention_mask"):
        block(X, ENCODER, encoder_attention_mask=np.ones((B, S), bool))


def test_cross_attention_cache_keeps_encoder_mask_and_does_not_warn():
    import warnings

    embedding = TokenAndPositionEmbedding(20, 8, 16, mask_zero=True)
    encoded = embedding(np.array([[3, 4, 0]]))
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=32)
    target = np.random.default_rng(0).normal(size=(1, 2, 16)).astype("float32")
    full = _np(block(target, encoded))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "... will therefore destroy the mask" would fail here
        cross = block.compute_cross_attention_cache(encoded)
    assert get_keras_mask(encoded) is not None
    # The cached cross-attention still skips the padded source position.
    cache = block.init_cache(1, 2)
    steps = []
    for t in range(2):
        out, cache = block(
            target[:, t : t + 1],
            self_attention_cache=cache,
            cache_index=t,
            cross_attention_cache=cross,
            encoder_padding_mask=np.array([[1, 1, 0]]),
        )
        steps.append(_np(out))
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
