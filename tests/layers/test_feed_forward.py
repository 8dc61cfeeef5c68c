"""Tests of the position-wise FeedForward network (section 3.3) and its gated variants."""

import keras
import numpy as np
import pytest
from keras.src import testing
from keras.src.backend import get_keras_mask, set_keras_mask

from transformer_keras.layers import FeedForward

X = np.random.default_rng(0).normal(size=(2, 5, 6)).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _layer(ref, **kwargs):
    layer = FeedForward(bias_initializer="random_normal", **kwargs)
    layer.build(X.shape)
    ref.perturb_weights(layer)
    return layer


def test_relu_matches_the_paper(ref):
    layer = _layer(ref, intermediate_dim=12)
    w1, b1 = _np(layer.intermediate_dense.kernel), _np(layer.intermediate_dense.bias)
    w2, b2 = _np(layer.output_dense.kernel), _np(layer.output_dense.bias)
    assert w1.shape == (6, 12) and w2.shape == (12, 6)
    expected = np.maximum(X @ w1 + b1, 0.0) @ w2 + b2
    hidden = X @ w1 + b1
    assert (hidden < 0).any() and (hidden > 0).any()  # the ReLU does something
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)


def test_each_position_is_transformed_alike(ref):
    layer = _layer(ref, intermediate_dim=8)
    single = _np(layer(X[:, 2:3]))
    np.testing.assert_allclose(_np(layer(X))[:, 2:3], single, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "gelu", "silu"])
def test_activations(ref, activation):
    layer = _layer(ref, intermediate_dim=10, activation=activation)
    np.testing.assert_allclose(layer(X), ref.feed_forward(layer, X), atol=1e-5)


def test_gelu_is_the_exact_erf_form(ref):
    layer = _layer(ref, intermediate_dim=10, activation="gelu")
    hidden = ref.dense(layer.intermediate_dense, X)
    expected = ref.dense(layer.output_dense, ref.gelu(hidden))
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)


def test_swiglu(ref):
    layer = _layer(ref, intermediate_dim=10, activation="swiglu")
    w1, wg, w2 = (
        _np(d.kernel) for d in (layer.intermediate_dense, layer.gate_dense, layer.output_dense)
    )
    assert layer.intermediate_dense.bias is None and layer.output_dense.bias is None
    assert len(layer.trainable_weights) == 3
    gate = X @ wg
    expected = ((gate / (1 + np.exp(-gate))) * (X @ w1)) @ w2
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)


def test_geglu(ref):
    layer = _layer(ref, intermediate_dim=10, activation="geglu")
    w1, wg, w2 = (
        _np(d.kernel) for d in (layer.intermediate_dense, layer.gate_dense, layer.output_dense)
    )
    expected = (ref.gelu(X @ wg) * (X @ w1)) @ w2
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)


def test_output_dim_and_no_bias(ref):
    layer = _layer(ref, intermediate_dim=7, output_dim=3, use_bias=False)
    assert len(layer.trainable_weights) == 2
    w1, w2 = _np(layer.intermediate_dense.kernel), _np(layer.output_dense.kernel)
    out = layer(X)
    assert tuple(out.shape) == (2, 5, 3)
    np.testing.assert_allclose(out, np.maximum(X @ w1, 0) @ w2, atol=1e-5)


def test_callable_activation(ref):
    layer = _layer(ref, intermediate_dim=6, activation=keras.activations.tanh)
    hidden = np.tanh(ref.dense(layer.intermediate_dense, X))
    np.testing.assert_allclose(layer(X), ref.dense(layer.output_dense, hidden), atol=1e-5)


def test_dropout_only_in_training(ref):
    layer = _layer(ref, intermediate_dim=64, dropout=0.5)
    expected = ref.feed_forward(layer, X)
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)
    np.testing.assert_allclose(layer(X, training=False), expected, atol=1e-5)
    assert np.abs(_np(layer(X, training=True)) - expected).max() > 1e-2


def test_mask_passes_through(ref):
    layer = _layer(ref, intermediate_dim=4)
    x = keras.ops.convert_to_tensor(X)
    mask = keras.ops.convert_to_tensor(np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool))
    set_keras_mask(x, mask)
    np.testing.assert_array_equal(_np(get_keras_mask(layer(x))), _np(mask))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(ref, set_policy, policy):
    set_policy(policy)
    layer = FeedForward(16, activation="swiglu")
    out = layer(X)
    assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype
    assert all(w.dtype == "float32" for w in layer.weights)
    expected = ref.feed_forward(layer, X)
    np.testing.assert_allclose(_np(keras.ops.cast(out, "float32")), expected, atol=0.05)


def test_bad_arguments():
    with pytest.raises(ValueError, match="intermediate_dim"):
        FeedForward(0)
    with pytest.raises(ValueError, match="output_dim"):
        FeedForward(4, output_dim=-2)
    with pytest.raises(ValueError, match="dropout"):
        FeedForward(4, dropout=1.0)
    with pytest.raises(ValueError, match="dropout"):
        FeedForward(4, dropout=-0.1)
    with pytest.raises(ValueError, match="activation"):
        FeedForward(4, activation="not_an_activation")
    with pytest.raises(ValueError, match="inputs"):
        FeedForward(4).build((2, 3, None))


@pytest.mark.parametrize("activation", ["gelu", "swiglu", keras.activations.silu])
def test_config_round_trip(ref, activation):
    layer = _layer(ref, intermediate_dim=8, activation=activation, output_dim=4, dropout=0.2)
    clone = FeedForward.from_config(layer.get_config())
    assert (clone.intermediate_dim, clone.output_dim, clone.dropout) == (8, 4, 0.2)
    clone.build(X.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(X), layer(X), atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "swiglu"])
def test_saving(tmp_path, ref, activation):
    inputs = keras.Input((None, 6))
    layer = FeedForward(12, activation=activation, bias_initializer="random_normal")
    model = keras.Model(inputs, layer(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(X), model(X), atol=1e-6)
    np.testing.assert_allclose(loaded(X), ref.feed_forward(layer, X), atol=1e-5)


def test_jit_compile_matches_eager(ref, xla):
    layer = _layer(ref, intermediate_dim=12, activation="gelu")
    compiled = xla(layer)
    np.testing.assert_allclose(compiled(X), layer(X), atol=1e-5)


class FeedForwardLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        for kwargs, num_weights, seeds in (
            ({"intermediate_dim": 8}, 4, 0),
            ({"intermediate_dim": 8, "activation": "swiglu"}, 3, 0),
            ({"intermediate_dim": 8, "output_dim": 3, "use_bias": False, "dropout": 0.1}, 2, 1),
        ):
            self.run_layer_test(
                FeedForward,
                init_kwargs=kwargs,
                input_shape=(2, 5, 6),
                expected_output_shape=(2, 5, kwargs.get("output_dim", 6)),
                expected_num_trainable_weights=num_weights,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=seeds,
                expected_num_losses=0,
                supports_masking=True,
            )


def test_gelu_approximate_is_the_tanh_form(ref):
    """GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    layer = _layer(ref, intermediate_dim=10, activation="gelu_approximate")
    hidden = ref.dense(layer.intermediate_dense, X)
    tanh_gelu = 0.5 * hidden * (1 + np.tanh(np.sqrt(2 / np.pi) * (hidden + 0.044715 * hidden**3)))
    expected = ref.dense(layer.output_dense, tanh_gelu)
    np.testing.assert_allclose(layer(X), expected, atol=1e-5)
    # It differs from the exact form by more than float32 rounding.
    exact = ref.dense(layer.output_dense, ref.gelu(hidden))
    assert np.abs(expected - exact).max() > 1e-5
    clone = FeedForward.from_config(layer.get_config())
    assert clone.activation == "gelu_approximate"
