"""The speed paths of `transformer_keras.layers.fast` against the plain computations.

Each path must give the plain path's values (and gradients), and must step aside where it does
not apply; `benchmarks/interleaved.py` measures what they are worth.
"""

import keras
import numpy as np
import pytest

from transformer_keras.layers import MultiHeadAttention, fast

RNG = np.random.default_rng(7)
B, T, S, D = 2, 5, 7, 16
X = RNG.normal(size=(B, T, D)).astype("float32")
PADDING = np.array([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], bool)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _layer(**kwargs):
    kwargs = {"num_heads": 4, "key_dim": 4, **kwargs}
    layer = MultiHeadAttention(**kwargs)
    layer.build(X.shape, X.shape)
    # Non-zero biases, so that a bias dropped or misplaced shows.
    for projection in (layer.query_dense, layer.key_dense, layer.value_dense):
        if projection.bias is not None:
            projection.bias.assign(RNG.normal(size=projection.bias.shape).astype("float32"))
    return layer


def test_paths_are_listed_and_switchable():
    assert set(fast.PATHS) >= {"head_matmul", "fused_projections"}
    with fast.disabled("head_matmul", "fused_projections"):
        assert not fast.enabled("head_matmul")
        assert not fast.enabled("fused_projections")
        assert fast.enabled("projection")
    assert fast.enabled("head_matmul") and fast.enabled("fused_projections")
    with pytest.raises(ValueError, match="must be one of"):
        fast.enabled("fused")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"use_bias": False}, {"num_key_value_heads": 2}, {"num_key_value_heads": 1}],
    ids=["bias", "no_bias", "grouped", "multi_query"],
)
def test_fused_heads_equal_the_three_projections(kwargs):
    layer = _layer(**kwargs)
    projections = (layer.query_dense, layer.key_dense, layer.value_dense)
    fused = fast.fused_heads(projections, X)
    assert fused is not None
    for heads, projection in zip(fused, projections):
        with fast.disabled("projection"):  # the EinsumDense itself
            expected = _np(projection(X))
        assert tuple(heads.shape) == expected.shape
        np.testing.assert_allclose(_np(heads), expected, atol=1e-5)


def test_fused_heads_step_aside_where_they_do_not_apply():
    layer = _layer(value_dim=8)  # value heads wider than key heads: no common layout
    projections = (layer.query_dense, layer.key_dense, layer.value_dense)
    assert fast.fused_heads(projections, X) is None
    layer = _layer()
    projections = (layer.query_dense, layer.key_dense, layer.value_dense)
    with fast.disabled("fused_projections"):
        assert fast.fused_heads(projections, X) is None
    assert fast.fused_heads(projections, X[..., :8]) is None  # another width than the kernels'
    layer.key_dense.quantize("int8")
    assert fast.fused_heads(projections, X) is None


@pytest.mark.parametrize("causal", [False, True], ids=["padding", "causal"])
def test_self_attention_with_fused_projections_equals_the_plain_layer(causal):
    layer = _layer(num_key_value_heads=2)
    kwargs = {"attention_mask": PADDING[:, None, :] & PADDING[:, :, None]}
    kwargs["use_causal_mask"] = causal
    x = keras.ops.convert_to_tensor(X)
    fused = _np(layer(x, x, **kwargs))
    with fast.disabled():
        plain = _np(layer(x, x, **kwargs))
    np.testing.assert_allclose(fused, plain, atol=1e-5)


def test_fused_projections_serve_self_attention_outside_training_only(monkeypatch):
    calls = []
    fused_heads = fast.fused_heads

    def counting(projections, inputs):
        calls.append(tuple(inputs.shape))
        return fused_heads(projections, inputs)

    monkeypatch.setattr(fast, "fused_heads", counting)
    layer = _layer()
    x = keras.ops.convert_to_tensor(X)  # one tensor as query and value: self-attention
    layer(x, x)
    assert calls == [X.shape]
    layer(x, x, training=True)  # its gradients cost more than the product saves
    layer(x, keras.ops.convert_to_tensor(RNG.normal(size=(B, S, D)).astype("float32")))
    assert calls == [X.shape]  # cross-attention: two inputs


@pytest.mark.tf_only
def test_head_matmul_equals_the_einsums_forward_and_backward():
    import tensorflow as tf

    query = tf.constant(RNG.normal(size=(B, T, 4, 4)).astype("float32"))
    key = tf.constant(RNG.normal(size=(B, S, 4, 4)).astype("float32"))
    value = tf.constant(RNG.normal(size=(B, S, 4, 4)).astype("float32"))

    def run():
        with tf.GradientTape() as tape:
            tape.watch([query, key, value])
            logits = fast.attention_logits(query, key)
            attended = fast.attend(tf.nn.softmax(logits), value)
            loss = tf.reduce_sum(attended**2) + tf.reduce_sum(logits * logits[..., :1])
        return [logits, attended, *tape.gradient(loss, [query, key, value])]

    fast_values = run()
    with fast.disabled("head_matmul"):
        plain = run()
    expected_logits = np.einsum("btnh,bsnh->bnts", query.numpy(), key.numpy())
    np.testing.assert_allclose(fast_values[0], expected_logits, atol=1e-5)
    assert tuple(fast_values[1].shape) == (B, T, 4, 4)
    for a, b in zip(fast_values, plain):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.tf_only
def test_attention_layer_trains_alike_with_and_without_the_paths():
    import tensorflow as tf

    layer = _layer(dropout=0.0)
    mask = PADDING[:, None, :] & np.ones((B, T, 1), bool)

    def gradients():
        with tf.GradientTape() as tape:
            y = layer(X, X, attention_mask=mask, training=True)
            loss = tf.reduce_sum(y**2)
        return [_np(g) for g in tape.gradient(loss, layer.trainable_variables)]

    with_paths = gradients()
    with fast.disabled():
        plain = gradients()
    for a, b in zip(with_paths, plain):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_projection_path_applies_to_the_attention_projections(monkeypatch):
    """The layers' projections take the 2-D product (a Keras "no activation" is `linear`,
    not None: a check for None alone turned the path off everywhere); quantized ones and a
    disabled path go through `EinsumDense.call`."""
    layer = _layer()
    with fast.disabled("projection"):
        expected = [_np(p(X)) for p in (layer.query_dense, layer.key_dense, layer.value_dense)]
    calls = []
    einsum_call = keras.layers.EinsumDense.call

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return einsum_call(self, *args, **kwargs)

    monkeypatch.setattr(keras.layers.EinsumDense, "call", counting)
    for projection, values in zip(
        (layer.query_dense, layer.key_dense, layer.value_dense), expected
    ):
        np.testing.assert_allclose(_np(projection(X)), values, atol=1e-5)
    assert calls == []
    with fast.disabled("projection"):
        layer.query_dense(X)
    assert calls == ["query"]
