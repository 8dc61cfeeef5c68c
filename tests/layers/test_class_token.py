"""Tests of ClassToken: a learned vector prepended to the sequence, the mask extended with True."""

import keras
import numpy as np
import pytest
from keras.src import testing
from keras.src.backend import get_keras_mask

from transformer_keras.layers import ClassToken

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4, 5)).astype("float32")
MASK = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _layer_with_random_token(width=5):
    layer = ClassToken()
    layer.build((None, None, width))
    layer.token.assign(RNG.normal(size=(1, 1, width)).astype("float32"))
    return layer


def _reference(layer, x):
    token = np.broadcast_to(_np(layer.token), (x.shape[0], 1, x.shape[2]))
    return np.concatenate([token, x], axis=1)


def test_prepends_the_learned_vector():
    layer = _layer_with_random_token()
    out = _np(layer(X))
    assert out.shape == (3, 5, 5)
    np.testing.assert_array_equal(out, _reference(layer, X))
    token = _np(layer.token)[0, 0]
    assert np.abs(token).min() > 0  # the check above is not a comparison of zeros


@pytest.mark.parametrize("initializer", ["zeros", "ones"])
def test_initializer_is_used(initializer):
    out = _np(ClassToken(initializer=initializer)(X))
    expected = np.zeros(5) if initializer == "zeros" else np.ones(5)
    np.testing.assert_array_equal(out[:, 0], np.broadcast_to(expected, (3, 5)))
    np.testing.assert_array_equal(out[:, 1:], X)


def test_implicit_mask_is_extended_with_true():
    tokens = np.array([[4, 2, 0, 0], [0, 0, 0, 0]])
    embedded = keras.layers.Embedding(6, 5, mask_zero=True)(tokens)
    out = ClassToken()(embedded)
    expected = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(_np(get_keras_mask(out)), expected)


@pytest.mark.parametrize("dtype", ["bool", "int32", "float32"])
def test_explicit_mask_is_extended_with_true(dtype):
    layer = ClassToken()
    out = layer(X, mask=MASK.astype(dtype))
    expected = np.concatenate([np.ones((3, 1), bool), MASK], axis=1)
    np.testing.assert_array_equal(_np(get_keras_mask(out)), expected)
    np.testing.assert_array_equal(_np(layer.compute_mask(X, MASK.astype(dtype))), expected)
    np.testing.assert_array_equal(_np(out)[:, 1:], X)  # the mask does not change the values


def test_no_mask_gives_no_mask():
    layer = ClassToken()
    out = layer(X)
    assert get_keras_mask(out) is None
    assert layer.compute_mask(X, None) is None


def test_mask_flows_through_a_functional_model():
    # Keras' mask-aware average reads the extended mask: the class token counts as a real
    # position, so a row of padding averages to the class token instead of dividing by zero.
    tokens = keras.Input((4,), dtype="int32")
    x = keras.layers.Embedding(6, 5, mask_zero=True)(tokens)
    x = ClassToken(initializer="ones")(x)
    model = keras.Model(tokens, keras.layers.GlobalAveragePooling1D()(x))
    ids = np.array([[4, 2, 0, 0], [0, 0, 0, 0]])
    table = _np(model.layers[1].embeddings)
    expected = np.stack([(1.0 + table[4] + table[2]) / 3, np.ones(5)])
    np.testing.assert_allclose(_np(model(ids)), expected, rtol=1e-6)


def test_gradient_of_the_token_sums_the_batch(gradients):
    layer = ClassToken()
    layer.build(X.shape)
    upstream = RNG.normal(size=(3, 5, 5)).astype("float32")

    def loss():
        return keras.ops.sum(layer(X) * upstream)

    (gradient,) = gradients(loss, layer.trainable_variables)
    np.testing.assert_allclose(_np(gradient)[0, 0], upstream[:, 0].sum(axis=0), rtol=1e-5)


def test_float16_policy(set_policy):
    set_policy("mixed_float16")
    layer = ClassToken(initializer="ones")
    out = layer(X.astype("float16"))
    assert out.dtype == "float16"
    assert layer.token.dtype == "float32"
    np.testing.assert_array_equal(_np(out)[:, 1:], X.astype("float16"))
    np.testing.assert_array_equal(_np(out)[:, 0], np.ones((3, 5), "float16"))


def test_jit_compile_matches_eager(xla):
    layer = _layer_with_random_token()
    compiled = xla(lambda x: layer(x))
    np.testing.assert_array_equal(_np(compiled(X)), _np(layer(X)))


def test_dynamic_length_and_batch():
    inputs = keras.Input((None, 5))
    model = keras.Model(inputs, ClassToken(initializer="ones")(inputs))
    assert model.output_shape == (None, None, 5)
    for length in (1, 7):
        x = np.zeros((2, length, 5), "float32")
        out = _np(model(x))
        assert out.shape == (2, length + 1, 5)
        np.testing.assert_array_equal(out[:, 0], np.ones((2, 5)))


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4, 5), (2, 3, None)])
def test_bad_input_shape_raises(shape):
    with pytest.raises(ValueError, match="inputs"):
        ClassToken().build(shape)


def test_config_round_trip():
    layer = ClassToken(initializer=keras.initializers.Constant(0.5), name="cls")
    config = layer.get_config()
    clone = ClassToken.from_config(config)
    assert clone.name == "cls"
    assert clone.get_config() == config
    np.testing.assert_array_equal(_np(clone(X))[:, 0], np.full((3, 5), 0.5))


def test_saving(tmp_path):
    tokens = keras.Input((4,), dtype="int32")
    x = keras.layers.Embedding(6, 5, mask_zero=True)(tokens)
    x = ClassToken(name="class_token")(x)
    model = keras.Model(tokens, x)
    model.get_layer("class_token").token.assign(RNG.normal(size=(1, 1, 5)).astype("float32"))
    ids = np.array([[4, 2, 0, 0], [1, 0, 0, 0]])
    path = tmp_path / "class_token.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("class_token"), ClassToken)
    np.testing.assert_array_equal(_np(loaded(ids)), _np(model(ids)))
    np.testing.assert_array_equal(
        _np(get_keras_mask(loaded(ids))), [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]]
    )


class ClassTokenLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            ClassToken,
            init_kwargs={"initializer": "ones"},
            input_shape=(2, 3, 4),
            expected_output_shape=(2, 4, 4),
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            expected_num_losses=0,
            supports_masking=True,
        )

    def test_run_layer_test_values(self):
        x = np.arange(12, dtype="float32").reshape(1, 3, 4)
        self.run_layer_test(
            ClassToken,
            init_kwargs={"initializer": "ones"},
            input_data=x,
            expected_output=keras.ops.convert_to_tensor(
                np.concatenate([np.ones((1, 1, 4), "float32"), x], axis=1)
            ),
            expected_num_trainable_weights=1,
            supports_masking=True,
        )
