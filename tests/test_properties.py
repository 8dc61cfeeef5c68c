"""Property-based tests of the layers over shapes, masks, lengths and dtype policies.

Hypothesis draws batch sizes (1-3), lengths (1-9), heads (1-4), head and model widths, boolean
padding masks (all-False rows included) and a dtype policy per layer (`float32`,
`mixed_bfloat16`, `mixed_float16`). For every draw the layers must either work or raise a clear
`ValueError` naming the offending argument (for the invalid combinations drawn on purpose), give
finite outputs in the compute dtype, and respect their masks: masked keys get exactly zero
attention weight, and changing the values at masked positions leaves the outputs of the real
positions unchanged. The references are NumPy formulas of the paper, evaluated in float64.

Runs are deterministic (`derandomize=True`) and small (`max_examples` 15-25, one layer built
per example). Shrinking is off: building layers makes it slow, and the draws of a failing
example are printed with their labels anyway.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from keras import ops

from transformer_keras import testing
from transformer_keras.layers import (
    MaskedGlobalPooling,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

POLICIES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
# Agreement expected between two computations of the same value, by compute dtype.
TOLERANCE = {"float32": 2e-5, "bfloat16": 5e-2, "float16": 5e-3}


def _settings(max_examples):
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=[Phase.explicit, Phase.generate],
    )


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x)).astype("float64")


def _dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def _mask(data, batch, length, name):
    rows = st.lists(st.booleans(), min_size=length, max_size=length)
    mask = np.array(data.draw(st.lists(rows, min_size=batch, max_size=batch), label=name), bool)
    if length and not mask.any(axis=-1).all():
        event(f"{name}: a row with no real position")
    return mask


def _invalid(data):
    """True about once in six draws: build an invalid combination on purpose."""
    return data.draw(st.integers(0, 5), label="invalid on purpose") == 0


def _policy(data):
    return data.draw(st.sampled_from(sorted(POLICIES)), label="dtype policy")


def _perturb(x, keep, seed):
    """`x` with new random values wherever `keep` (broadcast over trailing axes) is False."""
    noise = np.random.default_rng(seed).normal(size=x.shape).astype(x.dtype)
    keep = keep.reshape(keep.shape + (1,) * (x.ndim - keep.ndim))
    return np.where(keep, x, noise)


def _assert_finite_in(x, dtype, what):
    assert _dtype(x) == dtype, f"{what}: dtype {_dtype(x)}, expected the compute dtype {dtype}"
    assert np.all(np.isfinite(_numpy(x))), f"{what}: non-finite values"


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


# ----------------------------------------------------------------------------------------
# MultiHeadAttention.


@_settings(25)
@given(data=st.data())
def test_multi_head_attention_properties(data):
    batch = data.draw(st.integers(1, 3), label="batch")
    query_length = data.draw(st.integers(1, 9), label="query length")
    self_attention = data.draw(st.booleans(), label="self attention")
    key_length = query_length if self_attention else data.draw(st.integers(1, 9), "key length")
    heads = data.draw(st.integers(1, 4), label="heads")
    divisors = [k for k in range(1, 5) if heads % k == 0]
    if heads > 1 and _invalid(data):  # on purpose: a count that does not divide `num_heads`
        divisors = [k for k in range(2, 5) if heads % k]
    kv_heads = data.draw(st.sampled_from(divisors), label="key/value heads")
    key_dim = data.draw(st.integers(1, 8), label="key_dim")
    width = data.draw(st.integers(1, 12), label="query width")
    value_width = width if self_attention else data.draw(st.integers(1, 12), "value width")
    policy = _policy(data)
    causal = self_attention and data.draw(st.booleans(), label="use_causal_mask")
    key_mask = _mask(data, batch, key_length, "key padding mask")
    seed = data.draw(st.integers(0, 2**16), label="seed")

    if heads % kv_heads:
        event("invalid combination: ValueError")
        with pytest.raises(ValueError, match="num_key_value_heads"):
            MultiHeadAttention(heads, key_dim, num_key_value_heads=kv_heads, dtype=policy)
        return
    layer = MultiHeadAttention(heads, key_dim, num_key_value_heads=kv_heads, dtype=policy)
    compute = POLICIES[policy]
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, query_length, width)).astype("float32")
    value = query if self_attention else rng.normal(size=(batch, key_length, value_width))
    value = value.astype("float32")
    attention_mask = np.broadcast_to(key_mask[:, None, :], (batch, query_length, key_length))

    def attend(query, value, scores):
        return layer(
            query,
            value,
            attention_mask=attention_mask,
            use_causal_mask=causal,
            return_attention_scores=scores,
        )

    output, weights = attend(query, value, True)
    fused = attend(query, value, False)  # keras.ops.dot_product_attention
    _assert_finite_in(output, compute, "output")
    _assert_finite_in(fused, compute, "fused output")
    assert _dtype(weights) == compute
    assert tuple(output.shape) == (batch, query_length, width)
    assert tuple(weights.shape) == (batch, heads, query_length, key_length)

    allowed = np.broadcast_to(attention_mask[:, None], weights.shape)
    if causal:
        allowed = allowed & np.tril(np.ones((query_length, key_length), bool))
    weights = _numpy(weights)
    assert np.all(weights[~allowed] == 0.0), "a masked key got attention weight"
    has_key = allowed.any(axis=-1)
    sum_atol = {"float32": 1e-5, "bfloat16": 1e-2, "float16": 2e-3}[compute]
    np.testing.assert_allclose(weights.sum(axis=-1)[has_key], 1.0, atol=sum_atol)
    # A query with no key to attend to attends to nothing: its output is the output bias.
    bias = _numpy(ops.cast(layer.output_dense.bias, compute))
    no_key = ~has_key[:, 0]  # (batch, query)
    np.testing.assert_array_equal(
        _numpy(output)[no_key], np.broadcast_to(bias, (no_key.sum(), width))
    )
    scale = 1.0 + np.abs(_numpy(output)).max()
    np.testing.assert_allclose(
        _numpy(fused), _numpy(output), atol=TOLERANCE[compute] * scale * 4, rtol=0
    )

    # New values at masked key positions change nothing (both attention paths). In
    # self-attention they are queries too: the outputs of the real positions stay.
    changed = _perturb(value, key_mask, seed + 1)
    new_query = changed if self_attention else query
    real = key_mask if self_attention else np.ones((batch, query_length), bool)
    again, _ = attend(new_query, changed, True)
    np.testing.assert_array_equal(_numpy(again)[real], _numpy(output)[real])
    again_fused = attend(new_query, changed, False)
    np.testing.assert_array_equal(_numpy(again_fused)[real], _numpy(fused)[real])


# ----------------------------------------------------------------------------------------
# Encoder and decoder blocks.


def _block_shapes(data):
    """(heads, width): width = heads * head_dim, or on purpose not a multiple of heads."""
    heads = data.draw(st.integers(1, 4), label="heads")
    width = heads * data.draw(st.integers(1, 4), label="head width")
    if heads > 1 and _invalid(data):
        width += data.draw(st.integers(1, heads - 1), label="width offset")
    return heads, width


@_settings(20)
@given(data=st.data())
def test_encoder_block_properties(data):
    batch = data.draw(st.integers(1, 3), label="batch")
    length = data.draw(st.integers(1, 9), label="length")
    heads, width = _block_shapes(data)
    norm_first = data.draw(st.booleans(), label="norm_first")
    activation = data.draw(st.sampled_from(["relu", "gelu", "swiglu"]), label="activation")
    policy = _policy(data)
    mask = _mask(data, batch, length, "padding mask")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    x = np.random.default_rng(seed).normal(size=(batch, length, width)).astype("float32")

    block = TransformerEncoderBlock(
        heads, 2 * width, norm_first=norm_first, activation=activation, dtype=policy
    )
    if width % heads:
        event("invalid combination: ValueError")
        with pytest.raises(ValueError, match="num_heads"):
            block(x, padding_mask=mask)
        return
    compute = POLICIES[policy]
    output = block(x, padding_mask=mask)
    _, weights = block(x, padding_mask=mask, return_attention_scores=True)
    _assert_finite_in(output, compute, "output")
    assert tuple(output.shape) == x.shape
    weights = _numpy(weights)
    masked_keys = np.broadcast_to(~mask[:, None, None, :], weights.shape)
    assert np.all(weights[masked_keys] == 0.0), "a padded key got attention weight"

    # The outputs of real tokens do not depend on what the padded positions hold.
    changed = block(_perturb(x, mask, seed + 1), padding_mask=mask)
    np.testing.assert_array_equal(_numpy(changed)[mask], _numpy(output)[mask])


@_settings(15)
@given(data=st.data())
def test_decoder_block_properties(data):
    batch = data.draw(st.integers(1, 3), label="batch")
    length = data.draw(st.integers(1, 9), label="length")
    heads, width = _block_shapes(data)
    with_encoder = data.draw(st.booleans(), label="with encoder")
    source_length = data.draw(st.integers(1, 9), label="source length") if with_encoder else 0
    policy = _policy(data)
    decoder_mask = _mask(data, batch, length, "decoder padding mask")
    encoder_mask = _mask(data, batch, source_length, "encoder padding mask")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, length, width)).astype("float32")
    source = rng.normal(size=(batch, source_length, width)).astype("float32")

    block = TransformerDecoderBlock(heads, 2 * width, dtype=policy)

    def run(x, source, **kwargs):
        masks = {"decoder_padding_mask": decoder_mask}
        if with_encoder:
            return block(x, source, encoder_padding_mask=encoder_mask, **masks, **kwargs)
        return block(x, **masks, **kwargs)

    if width % heads:
        event("invalid combination: ValueError")
        with pytest.raises(ValueError, match="num_heads"):
            run(x, source)
        return
    compute = POLICIES[policy]
    output = run(x, source)
    _, scores = run(x, source, return_attention_scores=True)
    _assert_finite_in(output, compute, "output")
    self_weights = _numpy(scores["self_attention"])
    allowed = decoder_mask[:, None, None, :] & np.tril(np.ones((length, length), bool))
    allowed = np.broadcast_to(allowed, self_weights.shape)
    assert np.all(self_weights[~allowed] == 0.0), "a future or padded position got weight"
    if with_encoder:
        cross = _numpy(scores["cross_attention"])
        masked = np.broadcast_to(~encoder_mask[:, None, None, :], cross.shape)
        assert np.all(cross[masked] == 0.0), "a padded source position got weight"

    # Real positions ignore the values of padded decoder and encoder positions.
    changed = run(_perturb(x, decoder_mask, seed + 1), _perturb(source, encoder_mask, seed + 2))
    np.testing.assert_array_equal(_numpy(changed)[decoder_mask], _numpy(output)[decoder_mask])

    if compute == "float32" and length > 1:
        inputs = (x, source) if with_encoder else x
        testing.assert_causality(block, inputs, atol=1e-5)
        testing.assert_cached_decoding(block, inputs, atol=1e-4)


# ----------------------------------------------------------------------------------------
# Embeddings and positions.


def _sinusoid(positions, dim, max_wavelength):
    positions = np.asarray(positions, "float64")[:, None]
    channel = np.arange(dim)
    angle = positions / max_wavelength ** (2 * (channel // 2) / dim)
    return np.where(channel % 2 == 0, np.sin(angle), np.cos(angle))


@_settings(25)
@given(data=st.data())
def test_sinusoidal_positional_encoding_properties(data):
    batch = data.draw(st.integers(1, 3), label="batch")
    length = data.draw(st.integers(1, 9), label="length")
    dim = data.draw(st.integers(1, 17), label="width")
    start = data.draw(st.integers(0, 60), label="start_index")
    wavelengths = [0, -10] if _invalid(data) else [10, 100, 10000]
    max_wavelength = data.draw(st.sampled_from(wavelengths), label="max_wavelength")
    policy = _policy(data)
    if max_wavelength <= 0:
        event("invalid combination: ValueError")
        with pytest.raises(ValueError, match="max_wavelength"):
            SinusoidalPositionalEncoding(max_wavelength=max_wavelength, dtype=policy)
        return
    layer = SinusoidalPositionalEncoding(max_wavelength=max_wavelength, dtype=policy)
    compute = POLICIES[policy]
    x = np.zeros((batch, length, dim), "float32")
    encoding = layer(x, start_index=start)
    _assert_finite_in(encoding, compute, "encoding")
    expected = _sinusoid(np.arange(start, start + length), dim, max_wavelength)
    values = _numpy(encoding)
    assert np.all(np.abs(values) <= 1.0)
    atol = {"float32": 1e-5, "bfloat16": 8e-3, "float16": 1e-3}[compute]
    for row in values:
        np.testing.assert_allclose(row, expected, atol=atol, rtol=0)
    # Decoding one token at a time sees the same encoding as the full sequence.
    full = _numpy(layer(np.zeros((1, start + length, dim), "float32")))[0]
    np.testing.assert_allclose(values[0], full[start:], atol=atol, rtol=0)
    with pytest.raises(ValueError, match="inputs"):
        layer(np.zeros((dim,), "float32"))


@_settings(20)
@given(data=st.data())
def test_token_and_position_embedding_properties(data):
    vocabulary = data.draw(st.integers(1, 40), label="vocabulary")
    sequence_length = data.draw(st.integers(1, 9), label="sequence_length")
    dim = data.draw(st.integers(1, 17), label="embedding_dim")
    positional = data.draw(st.sampled_from(["sinusoidal", "learned"]), label="positional")
    mask_zero = data.draw(st.booleans(), label="mask_zero")
    batch = data.draw(st.integers(1, 3), label="batch")
    if _invalid(data):  # on purpose: longer than `sequence_length`
        length = data.draw(st.integers(sequence_length + 1, sequence_length + 3), label="length")
    else:
        length = data.draw(st.integers(1, sequence_length), label="length")
    policy = _policy(data)
    seed = data.draw(st.integers(0, 2**16), label="seed")
    ids = np.random.default_rng(seed).integers(0, vocabulary, size=(batch, length))

    layer = TokenAndPositionEmbedding(
        vocabulary, sequence_length, dim, mask_zero=mask_zero, positional=positional, dtype=policy
    )
    if length > sequence_length:
        event("invalid combination: ValueError")
        with pytest.raises(ValueError, match="sequence_length"):
            layer(ids)
        return
    compute = POLICIES[policy]
    output = layer(ids)
    _assert_finite_in(output, compute, "output")
    assert tuple(output.shape) == (batch, length, dim)
    mask = layer.compute_mask(ids)
    if mask_zero:
        np.testing.assert_array_equal(ops.convert_to_numpy(mask), ids != 0)
    else:
        assert mask is None

    # x = E[ids] * sqrt(d) + PE(position), from the layer's own tables.
    table = _numpy(layer.embeddings)
    if positional == "sinusoidal":
        positions = _sinusoid(np.arange(length), dim, 10000)
    else:
        positions = _numpy(layer.position_embedding.position_embeddings)[:length]
    expected = table[ids] * math.sqrt(dim) + positions[None]
    scale = 1.0 + np.abs(expected).max()
    np.testing.assert_allclose(_numpy(output), expected, atol=TOLERANCE[compute] * scale, rtol=0)

    # Embedding a suffix at its start index gives the same vectors as the full sequence.
    start = data.draw(st.integers(0, length - 1), label="start")
    suffix = layer(ids[:, start:], start_index=start)
    np.testing.assert_allclose(
        _numpy(suffix), _numpy(output)[:, start:], atol=TOLERANCE[compute] * scale, rtol=0
    )


@_settings(25)
@given(data=st.data())
def test_masked_global_pooling_properties(data):
    batch = data.draw(st.integers(1, 3), label="batch")
    length = data.draw(st.integers(1, 9), label="length")
    width = data.draw(st.integers(1, 8), label="width")
    mode = data.draw(st.sampled_from(["mean", "max", "first", "median"]), label="mode")
    policy = _policy(data)
    mask = _mask(data, batch, length, "mask")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    if mode == "median":
        event("invalid combination: ValueError")
        with pytest.raises(ValueError, match="mode"):
            MaskedGlobalPooling(mode, dtype=policy)
        return
    layer = MaskedGlobalPooling(mode, dtype=policy)
    compute = POLICIES[policy]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, length, width)).astype("float32")
    # Padded positions may hold anything, even infinities and NaN.
    garbage = rng.choice([np.inf, -np.inf, np.nan, 1e4], size=x.shape).astype("float32")
    padded = np.where(mask[..., None], x, garbage)
    output = layer(padded, mask=mask)
    assert tuple(output.shape) == (batch, width)
    if mode == "first":
        assert _dtype(output) == compute
        np.testing.assert_array_equal(_numpy(output), _numpy(ops.cast(padded, compute))[:, 0])
        return
    _assert_finite_in(output, compute, "pooled output")
    values = _numpy(ops.cast(x, compute))  # what the layer sees after autocasting
    expected = np.zeros((batch, width))
    for b in range(batch):
        real = values[b][mask[b]]
        if len(real):
            expected[b] = real.mean(axis=0) if mode == "mean" else real.max(axis=0)
    atol = TOLERANCE[compute] * (1.0 + np.abs(values).max())
    np.testing.assert_allclose(_numpy(output), expected, atol=atol, rtol=0)
    # Other values at padded positions, same result.
    other = np.where(mask[..., None], x, -garbage)
    np.testing.assert_array_equal(_numpy(layer(other, mask=mask)), _numpy(output))
