"""Shared fixtures of the layer tests: NumPy references of the paper's formulas.

The references are plain float64 NumPy, written from the equations (not from the layers' code)
and fed with the layers' own weights. They are handed to the tests through the `ref` fixture
so that the test modules need not import each other (safe with `--import-mode=importlib`).
"""

import math
import types

import keras
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed_and_float32():
    """Every test starts seeded and under the float32 policy, and leaves float32 behind."""
    keras.utils.set_random_seed(1234)
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def set_policy():
    """Returns a function that sets the global dtype policy; float32 is restored afterwards."""
    try:
        yield keras.mixed_precision.set_global_policy
    finally:
        keras.mixed_precision.set_global_policy("float32")


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x), dtype="float64")


def perturb_weights(layer, scale=0.2, seed=0):
    """Adds normal noise to every weight so that biases and LayerNorm gammas/betas matter."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        value = keras.ops.convert_to_numpy(weight)
        noise = rng.normal(0.0, scale, size=value.shape)
        weight.assign((value + noise).astype(value.dtype))


def sinusoid(positions, dim, max_wavelength=10000):
    """PE(pos, 2i) = sin(pos / w^(2i/d)), PE(pos, 2i+1) = cos(pos / w^(2i/d)), in float64."""
    positions = np.asarray(positions, dtype="float64")
    encoding = np.zeros(positions.shape + (dim,))
    for channel in range(dim):
        i = channel // 2
        angle = positions / max_wavelength ** (2 * i / dim)
        encoding[..., channel] = np.sin(angle) if channel % 2 == 0 else np.cos(angle)
    return encoding


def rope(x, positions, max_wavelength=10000):
    """Rotates channel pairs (j, j + H/2) of the last axis by pos * w^(-2j/H).

    `x` is (batch, length, [heads,] H) and `positions` (length,).
    """
    x = np.asarray(x, dtype="float64")
    head_dim = x.shape[-1]
    half = head_dim // 2
    theta = max_wavelength ** (-2.0 * np.arange(half) / head_dim)  # (H/2,)
    angle = np.asarray(positions, dtype="float64")[:, None] * theta  # (T, H/2)
    if x.ndim == 4:
        angle = angle[:, None, :]
    cos, sin = np.cos(angle), np.sin(angle)
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)


def masked_softmax(logits, mask=None):
    """Softmax over the last axis where `mask` allows; all-masked rows give zeros."""
    logits = np.asarray(logits, dtype="float64")
    if mask is None:
        mask = np.ones(logits.shape, dtype=bool)
    mask = np.broadcast_to(mask, logits.shape)
    shifted = np.where(mask, logits, -np.inf)
    row_max = np.max(shifted, axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp = np.where(mask, np.exp(shifted - row_max), 0.0)
    total = exp.sum(axis=-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)


def mha(layer, query, value, key=None, mask=None, query_positions=None, key_positions=None):
    """softmax(Q K^T / sqrt(d_k)) V, heads concatenated and projected, from `layer`'s weights.

    `mask` is a boolean (batch, T, S) (or broadcastable) "may attend" mask. Key/value heads are
    repeated for grouped-query attention (query head n uses key/value head n // groups).
    Returns `(output (B, T, d_out), weights (B, N, T, S))`.
    """
    key = value if key is None else key
    query, value, key = (np.asarray(t, dtype="float64") for t in (query, value, key))

    def project(dense, x, equation):
        out = np.einsum(equation, x, to_numpy(dense.kernel))
        if dense.bias is not None:
            out = out + to_numpy(dense.bias)
        return out

    q = project(layer.query_dense, query, "btd,dnh->btnh")
    k = project(layer.key_dense, key, "bsd,dkh->bskh")
    v = project(layer.value_dense, value, "bsd,dkh->bskh")
    if layer.rotary_max_wavelength is not None:
        tq, ts = q.shape[1], k.shape[1]
        query_positions = np.arange(tq) if query_positions is None else query_positions
        key_positions = np.arange(ts) if key_positions is None else key_positions
        q = rope(q, query_positions, layer.rotary_max_wavelength)
        k = rope(k, key_positions, layer.rotary_max_wavelength)
    groups = layer.num_heads // layer.num_key_value_heads
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) / math.sqrt(layer.key_dim)
    weights = masked_softmax(logits, None if mask is None else np.asarray(mask)[:, None])
    heads = np.einsum("bnts,bsnh->btnh", weights, v)
    return project(layer.output_dense, heads, "btnh,nhd->btd"), weights


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0.0), "gelu": gelu, "silu": silu}


def dense(layer, x):
    out = np.asarray(x, dtype="float64") @ to_numpy(layer.kernel)
    if layer.bias is not None:
        out = out + to_numpy(layer.bias)
    return out


def feed_forward(layer, x):
    """relu(x W1 + b1) W2 + b2, or (act(x W_gate) * (x W1)) W2 for the gated variants."""
    hidden = dense(layer.intermediate_dense, x)
    if layer.gated:
        gate_activation = {"swiglu": silu, "geglu": gelu}[layer.activation]
        hidden = gate_activation(dense(layer.gate_dense, x)) * hidden
    else:
        hidden = ACTIVATIONS[layer.activation](hidden)
    return dense(layer.output_dense, hidden)


def layer_norm(layer, x):
    x = np.asarray(x, dtype="float64")
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(variance + layer.epsilon)
    return normed * to_numpy(layer.gamma) + to_numpy(layer.beta)


def sublayer(block, x, norm, function):
    """Post-LN: norm(x + f(x)); pre-LN: x + f(norm(x)) (dropout inactive)."""
    if block.norm_first:
        return x + function(layer_norm(norm, x))
    return layer_norm(norm, x + function(x))


def encoder_block(block, x, mask=None, padding=None):
    """The encoder block, from its sublayers' weights.

    `mask` (batch, T or 1, T) limits attention. `padding` (batch, T), True for real tokens:
    padded positions come out as zeros.
    """
    x = sublayer(
        block, x, block.self_attention_norm, lambda y: mha(block.self_attention, y, y, mask=mask)[0]
    )
    x = sublayer(block, x, block.feed_forward_norm, lambda y: feed_forward(block.feed_forward, y))
    return x if padding is None else x * np.asarray(padding, dtype="float64")[..., None]


def causal(length):
    return np.tril(np.ones((length, length), dtype=bool))[None]


def decoder_block(block, x, encoder=None, self_mask=None, cross_mask=None, padding=None):
    """The decoder block: causal self-attention [+ cross-attention] + feed-forward.

    `padding` (batch, T), True for real tokens: padded positions come out as zeros.
    """
    length = x.shape[1]
    mask = causal(length) if self_mask is None else np.logical_and(causal(length), self_mask)
    x = sublayer(
        block, x, block.self_attention_norm, lambda y: mha(block.self_attention, y, y, mask=mask)[0]
    )
    if encoder is not None:
        x = sublayer(
            block,
            x,
            block.cross_attention_norm,
            lambda y: mha(block.cross_attention, y, encoder, mask=cross_mask)[0],
        )
    x = sublayer(block, x, block.feed_forward_norm, lambda y: feed_forward(block.feed_forward, y))
    return x if padding is None else x * np.asarray(padding, dtype="float64")[..., None]


@pytest.fixture
def ref():
    """NumPy references and helpers (see the module docstring)."""
    return types.SimpleNamespace(
        to_numpy=to_numpy,
        perturb_weights=perturb_weights,
        sinusoid=sinusoid,
        rope=rope,
        masked_softmax=masked_softmax,
        mha=mha,
        gelu=gelu,
        silu=silu,
        dense=dense,
        feed_forward=feed_forward,
        layer_norm=layer_norm,
        encoder_block=encoder_block,
        decoder_block=decoder_block,
        causal=causal,
    )
