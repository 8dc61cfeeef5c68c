"""Tests of MultiHeadAttention against NumPy softmax(Q K^T / sqrt(d_k)) V from its own weights."""

import keras
import numpy as np
import pytest
from keras.src import testing
from keras.src.backend import get_keras_mask, set_keras_mask

from transformer_keras.layers import MultiHeadAttention

B, T, S, D = 2, 5, 6, 8
RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(B, T, D)).astype("float32")
VALUE = RNG.normal(size=(B, S, D)).astype("float32")
KEY = RNG.normal(size=(B, S, 4)).astype("float32")
# Key padding: the first sequence has 4 real keys, the second 6.
KEY_PADDING = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
# Query padding: the first sequence has 3 real queries.
QUERY_PADDING = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _mha(ref, query_shape=QUERY.shape, value_shape=None, key_shape=None, **kwargs):
    """A built layer with random (non-zero) biases."""
    kwargs.setdefault("num_heads", 2)
    kwargs.setdefault("key_dim", 4)
    layer = MultiHeadAttention(**kwargs)
    layer.build(query_shape, value_shape or query_shape, key_shape)
    ref.perturb_weights(layer, scale=0.3)
    return layer


def _masked(x, mask):
    x = keras.ops.convert_to_tensor(x)
    set_keras_mask(x, keras.ops.convert_to_tensor(mask))
    return x


@pytest.fixture
def cross(ref):
    return _mha(ref, value_shape=VALUE.shape)


@pytest.fixture
def self_attention(ref):
    return _mha(ref)


# ---------------------------------------------------------------------------------------------
# Values against the NumPy reference.


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_matches_reference(ref, cross, scores):
    expected, expected_weights = ref.mha(cross, QUERY, VALUE)
    out = cross(QUERY, VALUE, return_attention_scores=scores)
    if scores:
        out, weights = out
        assert tuple(weights.shape) == (B, 2, T, S)
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    assert tuple(out.shape) == (B, T, D)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_separate_key_value_dims_and_output_dim(ref):
    layer = _mha(
        ref,
        value_shape=VALUE.shape,
        key_shape=KEY.shape,
        num_heads=3,
        key_dim=2,
        value_dim=5,
        output_dim=7,
    )
    assert tuple(layer.key_dense.kernel.shape) == (4, 3, 2)
    assert tuple(layer.value_dense.kernel.shape) == (8, 3, 5)
    assert tuple(layer.output_dense.kernel.shape) == (3, 5, 7)
    expected, weights = ref.mha(layer, QUERY, VALUE, key=KEY)
    out, scores = layer(QUERY, VALUE, key=KEY, return_attention_scores=True)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(scores, weights, atol=1e-5)
    np.testing.assert_allclose(layer(QUERY, VALUE, key=KEY), expected, atol=1e-5)


def test_without_bias(ref):
    layer = _mha(ref, value_shape=VALUE.shape, use_bias=False)
    assert len(layer.trainable_weights) == 4
    np.testing.assert_allclose(layer(QUERY, VALUE), ref.mha(layer, QUERY, VALUE)[0], atol=1e-5)


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_implicit_key_padding_mask(ref, cross, scores):
    expected, expected_weights = ref.mha(cross, QUERY, VALUE, mask=KEY_PADDING[:, None])
    out = cross(QUERY, _masked(VALUE, KEY_PADDING), return_attention_scores=scores)
    if scores:
        out, weights = out
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
        np.testing.assert_array_equal(_np(weights)[0, :, :, 4:], 0.0)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # The mask matters: without it the first sequence comes out different.
    assert np.abs(_np(cross(QUERY, VALUE))[0] - expected[0]).max() > 1e-3


def test_explicit_key_and_value_masks(ref, cross):
    expected = ref.mha(cross, QUERY, VALUE, mask=KEY_PADDING[:, None])[0]
    np.testing.assert_allclose(cross(QUERY, VALUE, value_mask=KEY_PADDING), expected, atol=1e-5)
    np.testing.assert_allclose(cross(QUERY, VALUE, key_mask=KEY_PADDING), expected, atol=1e-5)
    key = _masked(VALUE, KEY_PADDING)  # a masked `key` alone also masks
    np.testing.assert_allclose(cross(QUERY, VALUE, key=key), expected, atol=1e-5)
    # Key and value masks both apply.
    other = np.array([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]], bool)
    both = ref.mha(cross, QUERY, VALUE, mask=(KEY_PADDING & other)[:, None])[0]
    out = cross(QUERY, VALUE, key_mask=KEY_PADDING, value_mask=other)
    np.testing.assert_allclose(out, both, atol=1e-5)
    out = cross(QUERY, _masked(VALUE, other), key=_masked(VALUE, KEY_PADDING))
    np.testing.assert_allclose(out, both, atol=1e-5)


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_implicit_query_mask(ref, cross, scores):
    query = _masked(QUERY, QUERY_PADDING)
    value = _masked(VALUE, KEY_PADDING)
    mask = QUERY_PADDING[:, :, None] & KEY_PADDING[:, None, :]
    expected, expected_weights = ref.mha(cross, QUERY, VALUE, mask=mask)
    out = cross(query, value, return_attention_scores=scores)
    if scores:
        out, weights = out
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
        np.testing.assert_array_equal(_np(weights)[0, :, 3:], 0.0)
    out = _np(out)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Padded queries attend to nothing: only the output bias is left.
    bias = _np(cross.output_dense.bias)
    np.testing.assert_allclose(out[0, 3:], np.broadcast_to(bias, (2, D)), atol=1e-6)
    # The output carries the query's mask, and the inputs keep theirs.
    output = cross(query, value)
    np.testing.assert_array_equal(_np(get_keras_mask(output)), QUERY_PADDING)
    np.testing.assert_array_equal(_np(get_keras_mask(query)), QUERY_PADDING)
    np.testing.assert_array_equal(_np(get_keras_mask(value)), KEY_PADDING)


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_explicit_attention_mask(ref, cross, scores):
    mask = np.random.default_rng(1).random((B, T, S)) > 0.4
    mask[0, 1] = False  # a query that sees no key
    mask[1, 2] = True
    expected, expected_weights = ref.mha(cross, QUERY, VALUE, mask=mask)
    out = cross(QUERY, VALUE, attention_mask=mask.astype("int32"), return_attention_scores=scores)
    if scores:
        out, weights = out
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Combined with an implicit key padding mask.
    both = mask & KEY_PADDING[:, None]
    out = cross(QUERY, _masked(VALUE, KEY_PADDING), attention_mask=mask)
    np.testing.assert_allclose(out, ref.mha(cross, QUERY, VALUE, mask=both)[0], atol=1e-5)


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_causal_mask(ref, self_attention, scores):
    expected, expected_weights = ref.mha(self_attention, QUERY, QUERY, mask=ref.causal(T))
    out = self_attention(QUERY, QUERY, use_causal_mask=True, return_attention_scores=scores)
    if scores:
        out, weights = out
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
        np.testing.assert_array_equal(np.triu(_np(weights), k=1), 0.0)
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_causal_and_padding_mask(ref, self_attention, scores):
    padding = QUERY_PADDING
    x = _masked(QUERY, padding)
    mask = ref.causal(T) & padding[:, None, :] & padding[:, :, None]
    expected = ref.mha(self_attention, QUERY, QUERY, mask=mask)[0]
    out = self_attention(x, x, use_causal_mask=True, return_attention_scores=scores)
    out = out[0] if scores else out
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Real positions match a call on the real tokens alone.
    alone = self_attention(QUERY[:1, :3], QUERY[:1, :3], use_causal_mask=True)
    np.testing.assert_allclose(_np(out)[:1, :3], alone, atol=1e-5)


def test_fast_path_equals_explicit_path(ref, cross):
    mask = np.random.default_rng(2).random((B, T, S)) > 0.5
    mask[:, 0] = False
    value = _masked(VALUE, KEY_PADDING)
    fast = cross(QUERY, value, attention_mask=mask)
    explicit, _ = cross(QUERY, value, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(fast, explicit, atol=1e-5)


def test_fully_masked_query_gives_the_output_bias(ref, cross):
    mask = np.ones((B, T, S), bool)
    mask[1, 2] = False
    bias = _np(cross.output_dense.bias)
    for scores in (False, True):
        out = cross(QUERY, VALUE, attention_mask=mask, return_attention_scores=scores)
        if scores:
            out, weights = out
            weights = _np(weights)
            np.testing.assert_array_equal(weights[1, :, 2], 0.0)
            assert np.isfinite(weights).all()
        out = _np(out)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out[1, 2], bias, atol=1e-6)


def test_weights_sum_to_one_over_real_keys(cross):
    _, weights = cross(QUERY, _masked(VALUE, KEY_PADDING), return_attention_scores=True)
    weights = _np(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(weights[0, :, :, 4:], 0.0)
    assert (weights[0, :, :, :4] > 0).all()


def test_attention_is_invariant_to_key_order(cross):
    permutation = np.array([3, 0, 5, 1, 4, 2])
    out = cross(QUERY, VALUE)
    np.testing.assert_allclose(cross(QUERY, VALUE[:, permutation]), out, atol=1e-5)


@pytest.mark.parametrize("num_key_value_heads", [2, 1])
@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_grouped_query_attention(ref, num_key_value_heads, scores):
    layer = _mha(
        ref,
        value_shape=VALUE.shape,
        num_heads=4,
        key_dim=3,
        num_key_value_heads=num_key_value_heads,
    )
    assert tuple(layer.query_dense.kernel.shape) == (D, 4, 3)
    assert tuple(layer.key_dense.kernel.shape) == (D, num_key_value_heads, 3)
    assert tuple(layer.value_dense.kernel.shape) == (D, num_key_value_heads, 3)
    value = _masked(VALUE, KEY_PADDING)
    expected, expected_weights = ref.mha(layer, QUERY, VALUE, mask=KEY_PADDING[:, None])
    out = layer(QUERY, value, return_attention_scores=scores)
    if scores:
        out, weights = out
        assert tuple(weights.shape) == (B, 4, T, S)
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_grouped_query_attention_shares_keys_within_a_group(ref):
    layer = _mha(ref, num_heads=4, key_dim=3, num_key_value_heads=2)
    kernel = _np(layer.query_dense.kernel)
    bias = _np(layer.query_dense.bias)
    # Queries of heads 0 and 1 made equal, and of heads 2 and 3: the weights pair up too.
    kernel[:, 1], kernel[:, 3], bias[1], bias[3] = kernel[:, 0], kernel[:, 2], bias[0], bias[2]
    layer.query_dense.kernel.assign(kernel)
    layer.query_dense.bias.assign(bias)
    weights = _np(layer(QUERY, QUERY, return_attention_scores=True)[1])
    np.testing.assert_allclose(weights[:, 1], weights[:, 0], atol=1e-6)
    np.testing.assert_allclose(weights[:, 3], weights[:, 2], atol=1e-6)
    assert np.abs(weights[:, 0] - weights[:, 2]).max() > 1e-3


@pytest.mark.parametrize("scores", [False, True], ids=["fast", "explicit"])
def test_rotary_matches_reference(ref, scores):
    layer = _mha(ref, rotary_max_wavelength=100)
    expected, expected_weights = ref.mha(layer, QUERY, QUERY, mask=ref.causal(T))
    out = layer(QUERY, QUERY, use_causal_mask=True, return_attention_scores=scores)
    if scores:
        out, weights = out
        np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Without the rotation the result is different.
    plain = MultiHeadAttention.from_config({**layer.get_config(), "rotary_max_wavelength": None})
    plain.build(QUERY.shape, QUERY.shape)
    plain.set_weights(layer.get_weights())
    assert np.abs(_np(plain(QUERY, QUERY, use_causal_mask=True)) - expected).max() > 1e-3


def test_rotary_attention_is_relative(ref):
    layer = _mha(ref, rotary_max_wavelength=100, use_bias=False)
    # Shifting every position by 4 (writing at cache slot 4, slots 0-3 masked out) leaves the
    # attention weights unchanged: they depend on the offsets only.
    x = QUERY[:, :3]
    cache = layer.init_cache(B, 10)
    mask = np.zeros((B, 3, 10), bool)
    mask[:, :, 4:] = True
    _, weights, _ = layer(
        x, x, attention_mask=mask, cache=cache, cache_index=4, return_attention_scores=True
    )
    _, reference = layer(x, x, return_attention_scores=True)
    np.testing.assert_allclose(_np(weights)[..., 4:7], reference, atol=1e-5)
    np.testing.assert_array_equal(_np(weights)[..., :4], 0.0)


@pytest.mark.parametrize("rotary", [None, 50])
def test_key_value_equals_direct_cross_attention(ref, cross, rotary):
    layer = _mha(ref, value_shape=VALUE.shape, rotary_max_wavelength=rotary)
    key_value = layer.compute_key_value(VALUE)
    assert tuple(key_value.shape) == (B, 2, S, 2, 4)
    mask = np.broadcast_to(KEY_PADDING[:, None], (B, T, S))
    direct = layer(QUERY, VALUE, attention_mask=mask)
    cached = layer(QUERY, key_value=key_value, attention_mask=mask)
    np.testing.assert_allclose(cached, direct, atol=1e-5)
    np.testing.assert_allclose(direct, ref.mha(layer, QUERY, VALUE, mask=mask)[0], atol=1e-5)


def test_matches_keras_multi_head_attention(ref, cross):
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    theirs.build(QUERY.shape, VALUE.shape)
    pairs = [
        (theirs._query_dense, cross.query_dense),
        (theirs._key_dense, cross.key_dense),
        (theirs._value_dense, cross.value_dense),
        (theirs._output_dense, cross.output_dense),
    ]
    for their_dense, our_dense in pairs:
        assert tuple(their_dense.kernel.shape) == tuple(our_dense.kernel.shape)
        their_dense.kernel.assign(our_dense.kernel)
        their_dense.bias.assign(our_dense.bias)
    mask = np.random.default_rng(3).random((B, T, S)) > 0.3
    mask[..., 0] = True  # keras spreads fully masked rows uniformly; keep every row alive
    for kwargs in ({}, {"attention_mask": mask}):
        ours, our_weights = cross(QUERY, VALUE, return_attention_scores=True, **kwargs)
        out, weights = theirs(QUERY, VALUE, return_attention_scores=True, **kwargs)
        np.testing.assert_allclose(ours, out, atol=1e-5)
        np.testing.assert_allclose(our_weights, weights, atol=1e-5)
        np.testing.assert_allclose(cross(QUERY, VALUE, **kwargs), out, atol=1e-5)
    # Self-attention with a causal mask.
    ours = cross(VALUE[:, :T], VALUE[:, :T], use_causal_mask=True)
    out = theirs(VALUE[:, :T], VALUE[:, :T], use_causal_mask=True)
    np.testing.assert_allclose(ours, out, atol=1e-5)


def test_attention_dropout_only_in_training(ref):
    layer = _mha(ref, dropout=0.5)
    expected = ref.mha(layer, QUERY, QUERY)[0]
    np.testing.assert_allclose(layer(QUERY, QUERY), expected, atol=1e-5)
    np.testing.assert_allclose(layer(QUERY, QUERY, training=False), expected, atol=1e-5)
    assert np.abs(_np(layer(QUERY, QUERY, training=True)) - expected).max() > 1e-3


# ---------------------------------------------------------------------------------------------
# Causality and the key/value cache.


def test_causality(self_attention):
    x = QUERY.copy()
    out = _np(self_attention(x, x, use_causal_mask=True))
    for t in range(T - 1):
        changed = x.copy()
        changed[:, t + 1 :] = np.random.default_rng(t).normal(size=changed[:, t + 1 :].shape)
        out_changed = _np(self_attention(changed, changed, use_causal_mask=True))
        np.testing.assert_allclose(out_changed[:, : t + 1], out[:, : t + 1], atol=1e-6)
        assert np.abs(out_changed[:, t + 1 :] - out[:, t + 1 :]).max() > 1e-4


def _decode(layer, x, steps, max_length=8):
    """Feeds `x` in chunks of the given sizes through the cache; returns outputs and cache."""
    cache = layer.init_cache(x.shape[0], max_length)
    outputs, index = [], 0
    for size in steps:
        out, cache = layer(
            x[:, index : index + size],
            x[:, index : index + size],
            use_causal_mask=True,
            cache=cache,
            cache_index=index,
        )
        outputs.append(_np(out))
        index += size
    return np.concatenate(outputs, axis=1), cache


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"rotary_max_wavelength": 100}, {"num_heads": 4, "key_dim": 2, "num_key_value_heads": 2}],
    ids=["plain", "rotary", "gqa"],
)
@pytest.mark.parametrize("steps", [(1, 1, 1, 1, 1), (3, 1, 1)], ids=["tokens", "prompt"])
def test_cache_equals_full_causal_pass(ref, kwargs, steps):
    layer = _mha(ref, **kwargs)
    full = _np(layer(QUERY, QUERY, use_causal_mask=True))
    decoded, cache = _decode(layer, QUERY, steps)
    np.testing.assert_allclose(decoded, full, atol=1e-5)
    np.testing.assert_allclose(full, ref.mha(layer, QUERY, QUERY, mask=ref.causal(T))[0], atol=1e-5)
    # The cache holds the (rotated) keys and the values of the 5 positions, zeros after.
    cache = _np(cache)
    assert cache.shape == (B, 2, 8, layer.num_key_value_heads, layer.key_dim)
    keys = _np(layer.key_dense(QUERY))
    if layer.rotary_max_wavelength:
        keys = ref.rope(keys, np.arange(T), layer.rotary_max_wavelength)
    np.testing.assert_allclose(cache[:, 0, :T], keys, atol=1e-5)
    np.testing.assert_allclose(cache[:, 1, :T], layer.value_dense(QUERY), atol=1e-5)
    np.testing.assert_array_equal(cache[:, :, T:], 0.0)


def test_cache_with_scores_and_attention_mask(ref):
    layer = _mha(ref)
    cache = layer.init_cache(B, 8)
    _, cache = layer(QUERY[:, :3], QUERY[:, :3], use_causal_mask=True, cache=cache, cache_index=0)
    mask = np.ones((B, 1, 8), bool)
    mask[0, 0, 1] = False  # position 3 of sequence 0 may not see position 1
    out, weights, _ = layer(
        QUERY[:, 3:4],
        QUERY[:, 3:4],
        use_causal_mask=True,
        attention_mask=mask,
        cache=cache,
        cache_index=3,
        return_attention_scores=True,
    )
    weights = _np(weights)
    assert weights.shape == (B, 2, 1, 8)
    np.testing.assert_array_equal(weights[..., 4:], 0.0)  # empty cache slots
    np.testing.assert_array_equal(weights[0, :, :, 1], 0.0)
    full_mask = ref.causal(4) & np.array([[[1, 0, 1, 1]], [[1, 1, 1, 1]]], bool)
    expected = ref.mha(layer, QUERY[:, :4], QUERY[:, :4], mask=full_mask)[0][:, 3:]
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_non_causal_cache_attends_to_filled_slots(ref):
    layer = _mha(ref)
    cache = layer.init_cache(B, 8)
    _, cache = layer(QUERY[:, :4], QUERY[:, :4], cache=cache, cache_index=0)
    out, _ = layer(QUERY[:, 4:], QUERY[:, 4:], cache=cache, cache_index=4)
    expected = ref.mha(layer, QUERY[:, 4:], QUERY)[0]  # sees all 5 filled slots
    np.testing.assert_allclose(out, expected, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Compilation and mixed precision.


def test_jit_compile_matches_eager(ref, cross, xla):
    @xla
    def attend(query, value, mask):
        return cross(query, value, attention_mask=mask, return_attention_scores=True)

    mask = np.random.default_rng(4).random((B, T, S)) > 0.3
    mask[0, 0] = False
    out, weights = attend(QUERY, VALUE, mask)
    eager, eager_weights = cross(QUERY, VALUE, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(out, eager, atol=1e-5)
    np.testing.assert_allclose(weights, eager_weights, atol=1e-5)
    fast = xla(lambda q, v, m: cross(q, v, attention_mask=m))
    np.testing.assert_allclose(fast(QUERY, VALUE, mask), eager, atol=1e-5)


def test_jit_compile_cache_matches_eager(ref, xla):
    layer = _mha(ref, rotary_max_wavelength=100)

    @xla
    def step(x, cache, index):
        return layer(x, x, use_causal_mask=True, cache=cache, cache_index=index)

    cache = layer.init_cache(B, 8)
    outputs = []
    for index in range(T):
        out, cache = step(QUERY[:, index : index + 1], cache, keras.ops.convert_to_tensor(index))
        outputs.append(_np(out))
    full = layer(QUERY, QUERY, use_causal_mask=True)
    np.testing.assert_allclose(np.concatenate(outputs, 1), full, atol=1e-5)


def test_inside_a_jit_compiled_model(ref, cross):
    query, value = keras.Input((T, D)), keras.Input((S, D))
    masked_value = keras.layers.Masking(mask_value=0.0)(value)
    model = keras.Model([query, value], cross(query, masked_value))
    model.compile(jit_compile=True)
    value_data = VALUE * KEY_PADDING[..., None]  # zero vectors: masked by Masking
    out = model.predict([QUERY, value_data], verbose=0)
    expected = ref.mha(cross, QUERY, value_data, mask=KEY_PADDING[:, None])[0]
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(ref, set_policy, policy):
    set_policy(policy)
    layer = _mha(ref, value_shape=VALUE.shape)
    compute_dtype = layer.compute_dtype
    assert all(w.dtype == "float32" for w in layer.weights)
    mask = np.broadcast_to(KEY_PADDING[:, None], (B, T, S)).copy()
    mask[1, 4] = False  # a fully masked query
    expected, expected_weights = ref.mha(layer, QUERY, VALUE, mask=mask)
    tolerance = 0.05 if policy == "mixed_bfloat16" else 0.01
    for scores in (False, True):
        out = layer(
            QUERY, _masked(VALUE, KEY_PADDING), attention_mask=mask, return_attention_scores=scores
        )
        if scores:
            out, weights = out
            assert keras.backend.standardize_dtype(weights.dtype) == compute_dtype
            weights = _np(keras.ops.cast(weights, "float32"))
            assert np.isfinite(weights).all()
            np.testing.assert_array_equal(weights[0, :, :, 4:], 0.0)  # padded keys
            np.testing.assert_array_equal(weights[1, :, 4], 0.0)  # the fully masked query
            np.testing.assert_allclose(weights, expected_weights, atol=tolerance)
        assert keras.backend.standardize_dtype(out.dtype) == compute_dtype
        out = _np(keras.ops.cast(out, "float32"))
        assert np.isfinite(out).all()
        np.testing.assert_allclose(out, expected, atol=tolerance * 4)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_large_logits_and_cache(ref, set_policy, policy):
    set_policy(policy)
    layer = _mha(ref)
    # Large activations: the float16 logits are large but masking must still give zeros.
    x = QUERY * 8.0
    out, weights = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    weights = _np(keras.ops.cast(weights, "float32"))
    assert np.isfinite(weights).all() and np.isfinite(_np(keras.ops.cast(out, "float32"))).all()
    np.testing.assert_array_equal(np.triu(weights, k=1), 0.0)
    decoded, cache = _decode(layer, x, (3, 1, 1))
    assert keras.backend.standardize_dtype(cache.dtype) == layer.compute_dtype
    full = _np(keras.ops.cast(layer(x, x, use_causal_mask=True), "float32"))
    np.testing.assert_allclose(decoded.astype("float32"), full, atol=0.1)


# ---------------------------------------------------------------------------------------------
# Serialization.


def test_config_round_trip(ref):
    layer = _mha(
        ref,
        num_heads=4,
        key_dim=2,
        value_dim=3,
        num_key_value_heads=2,
        dropout=0.1,
        output_dim=5,
        rotary_max_wavelength=64,
        kernel_initializer="he_normal",
    )
    config = layer.get_config()
    clone = MultiHeadAttention.from_config(config)
    assert clone.get_config() == config
    assert (clone.num_key_value_heads, clone.value_dim, clone.output_dim) == (2, 3, 5)
    clone.build(QUERY.shape, QUERY.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        clone(QUERY, QUERY, use_causal_mask=True),
        layer(QUERY, QUERY, use_causal_mask=True),
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "kwargs", [{}, {"num_key_value_heads": 1, "rotary_max_wavelength": 30}], ids=["mha", "mqa"]
)
def test_saving(tmp_path, kwargs):
    query, value = keras.Input((None, D)), keras.Input((None, D))
    layer = MultiHeadAttention(num_heads=2, key_dim=4, bias_initializer="random_normal", **kwargs)
    causal = layer(query, query, use_causal_mask=True)
    crossed = layer(causal, keras.layers.Masking()(value))
    model = keras.Model([query, value], crossed)
    value_data = VALUE * KEY_PADDING[..., None]
    expected = model([QUERY, value_data])
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded([QUERY, value_data]), expected, atol=1e-6)


class MultiHeadAttentionLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        for kwargs, num_weights, seeds in (
            ({"num_heads": 2, "key_dim": 4}, 8, 0),
            ({"num_heads": 2, "key_dim": 4, "use_bias": False, "dropout": 0.5}, 4, 1),
            ({"num_heads": 4, "key_dim": 2, "num_key_value_heads": 2, "output_dim": 6}, 8, 0),
            ({"num_heads": 2, "key_dim": 4, "rotary_max_wavelength": 100}, 8, 0),
        ):
            self.run_layer_test(
                MultiHeadAttention,
                init_kwargs=kwargs,
                input_shape={"query_shape": (2, 5, 8), "value_shape": (2, 3, 8)},
                expected_output_shape=(2, 5, kwargs.get("output_dim", 8)),
                expected_num_trainable_weights=num_weights,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=seeds,
                expected_num_losses=0,
                supports_masking=True,
                run_training_check=False,
            )

    def test_run_layer_test_with_call_kwargs(self):
        self.run_layer_test(
            MultiHeadAttention,
            init_kwargs={"num_heads": 2, "key_dim": 4},
            input_shape={"query_shape": (2, 4, 8), "value_shape": (2, 4, 8)},
            call_kwargs={"use_causal_mask": True, "return_attention_scores": True},
            expected_output_shape=((2, 4, 8), (2, 2, 4, 4)),
            expected_num_trainable_weights=8,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            supports_masking=True,
            run_training_check=False,
        )


# ---------------------------------------------------------------------------------------------
# Misuse.


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_heads": 0, "key_dim": 4}, "num_heads"),
        ({"num_heads": 2, "key_dim": -1}, "key_dim"),
        ({"num_heads": 2, "key_dim": 4, "value_dim": 0}, "value_dim"),
        ({"num_heads": 2, "key_dim": 4, "output_dim": 0}, "output_dim"),
        ({"num_heads": 2, "key_dim": 4.0}, "key_dim"),
        ({"num_heads": 4, "key_dim": 4, "num_key_value_heads": 3}, "num_key_value_heads"),
        ({"num_heads": 2, "key_dim": 4, "num_key_value_heads": 0}, "num_key_value_heads"),
        ({"num_heads": 2, "key_dim": 4, "dropout": 1.0}, "dropout"),
        ({"num_heads": 2, "key_dim": 4, "dropout": -0.5}, "dropout"),
        ({"num_heads": 2, "key_dim": 3, "rotary_max_wavelength": 100}, "key_dim"),
        ({"num_heads": 2, "key_dim": 4, "rotary_max_wavelength": 0}, "rotary_max_wavelength"),
    ],
)
def test_bad_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MultiHeadAttention(**kwargs)


def test_bad_call_arguments(ref, cross, self_attention):
    with pytest.raises(ValueError, match="query"):
        MultiHeadAttention(2, 4)(QUERY[0], QUERY[0])  # rank 2
    with pytest.raises(ValueError, match="query"):
        cross(QUERY[:, :, :6], VALUE)  # width 6, built for 8
    with pytest.raises(ValueError, match="value"):
        cross(QUERY, VALUE[:, :, :5])
    with pytest.raises(ValueError, match="key"):
        cross(QUERY, VALUE, key=KEY)  # width 4, built for 8
    with pytest.raises(ValueError, match="key"):
        cross(QUERY, VALUE, key=VALUE[:, :4])  # key and value lengths differ
    with pytest.raises(ValueError, match="attention_mask"):
        cross(QUERY, VALUE, attention_mask=np.ones((B, T, S + 1), bool))
    with pytest.raises(ValueError, match="attention_mask"):
        cross(QUERY, VALUE, attention_mask=np.ones((B, S), bool))
    with pytest.raises(ValueError, match="value_mask"):
        cross(QUERY, VALUE, value_mask=np.ones((B, S + 2), bool))
    with pytest.raises(ValueError, match="key_mask"):
        cross(QUERY, VALUE, key_mask=np.ones((B, S, 1), bool))
    with pytest.raises(ValueError, match="query_mask"):
        cross(QUERY, VALUE, query_mask=np.ones((B, T, 1), bool))
    cache = self_attention.init_cache(B, 8)
    with pytest.raises(ValueError, match="cache_index"):
        self_attention(QUERY, QUERY, cache=cache)
    with pytest.raises(ValueError, match="cache"):
        self_attention(QUERY, QUERY, cache_index=0)
    with pytest.raises(ValueError, match="cache"):
        self_attention(QUERY, QUERY, cache=np.zeros((B, 2, 8, 3, 4), "float32"), cache_index=0)
    with pytest.raises(ValueError, match="cache_index"):
        self_attention(QUERY, QUERY, cache=cache, cache_index=4)  # 4 + 5 > 8
    with pytest.raises(ValueError, match="value"):
        cross(QUERY)
    with pytest.raises(ValueError, match="key_value"):
        cross(QUERY, key_value=np.zeros((B, 2, S, 2, 3), "float32"))
    with pytest.raises(ValueError, match="value_dim"):
        _mha(ref, key_dim=4, value_dim=2).init_cache(B, 8)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="the fused op's JAX/TPU path")
def test_masked_attention_turns_off_the_tpu_kernel(monkeypatch):
    # Keras' TPU kernel would apply the first example's mask to every example of the batch.
    from keras import ops

    from transformer_keras.layers import multi_head_attention

    calls = []
    original = ops.dot_product_attention

    def spy(*args, **kwargs):
        calls.append(kwargs.get("flash_attention"))
        return original(*args, **{**kwargs, "flash_attention": None})

    monkeypatch.setattr(ops, "dot_product_attention", spy)
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    mask = np.ones((2, 5, 5), bool)
    mask[1, :, 3:] = False
    expected = keras.ops.convert_to_numpy(layer(x, x, attention_mask=mask))
    assert calls == [None]  # not on a TPU: the op chooses

    monkeypatch.setattr(multi_head_attention, "_jax_on_tpu", lambda: True)
    output = keras.ops.convert_to_numpy(layer(x, x, attention_mask=mask))
    layer(x, x)  # no mask: nothing to get wrong, the kernel may run
    assert calls == [None, False, None]
    np.testing.assert_allclose(output, expected, rtol=1e-6, atol=1e-6)
