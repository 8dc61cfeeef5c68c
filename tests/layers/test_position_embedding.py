"""Tests of the learned PositionEmbedding."""

import keras
import numpy as np
import pytest
from keras.src import testing

from transformer_keras.layers import PositionEmbedding


def _table(layer):
    return keras.ops.convert_to_numpy(layer.position_embeddings)


@pytest.mark.parametrize("start_index", [0, 2, 6])
def test_output_is_the_table_rows(start_index):
    layer = PositionEmbedding(sequence_length=10)
    x = np.random.default_rng(0).normal(size=(3, 4, 6)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x, start_index=start_index))
    table = _table(layer)
    assert table.shape == (10, 6)
    for sequence in out:  # the input values do not matter, the positions do
        np.testing.assert_array_equal(sequence, table[start_index : start_index + 4])


def test_table_rows_differ():
    layer = PositionEmbedding(sequence_length=5)
    layer.build((None, 5, 4))
    table = _table(layer)
    assert np.abs(table[:, None] - table[None]).sum(-1)[~np.eye(5, dtype=bool)].min() > 0


def test_tensor_start_index_under_xla(xla):
    layer = PositionEmbedding(sequence_length=8)
    layer.build((None, None, 4))
    step = xla(lambda x, i: layer(x, start_index=i))
    table = _table(layer)
    for index in (0, 3, 7):
        out = step(np.zeros((2, 1, 4), "float32"), keras.ops.convert_to_tensor(index))
        np.testing.assert_allclose(out[:, 0], table[[index, index]], atol=0)


def test_gradient_reaches_only_the_used_rows(gradients):
    layer = PositionEmbedding(sequence_length=6)
    x = np.zeros((3, 4, 2), "float32")
    layer.build(x.shape)

    def loss():
        return keras.ops.sum(layer(x, start_index=1))

    (gradient,) = gradients(loss, layer.trainable_variables)
    expected = np.zeros((6, 2))
    expected[1:5] = 3.0  # each used row appears once per sequence of the batch
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gradient), expected)


def test_initializer_is_used():
    layer = PositionEmbedding(sequence_length=3, initializer="ones")
    np.testing.assert_array_equal(layer(np.zeros((1, 3, 2), "float32")), np.ones((1, 3, 2)))


def test_mixed_precision_output_dtype(set_policy):
    set_policy("mixed_bfloat16")
    layer = PositionEmbedding(sequence_length=4)
    out = layer(np.zeros((2, 4, 3), "float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(layer.position_embeddings.dtype) == "float32"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))[0], _table(layer), atol=1e-2
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="sequence_length"):
        PositionEmbedding(sequence_length=0)
    with pytest.raises(ValueError, match="sequence_length"):
        PositionEmbedding(sequence_length=-3)
    with pytest.raises(ValueError, match="sequence_length"):
        PositionEmbedding(sequence_length=4)(np.zeros((1, 5, 2), "float32"))
    layer = PositionEmbedding(sequence_length=4)
    layer(np.zeros((1, 2, 2), "float32"))
    with pytest.raises(ValueError, match="sequence_length"):
        layer(np.zeros((1, 6, 2), "float32"))  # too long after build
    with pytest.raises(ValueError, match="inputs"):
        PositionEmbedding(sequence_length=4).build((None, 4, None))
    with pytest.raises(ValueError, match="start_index"):
        layer(np.zeros((1, 2, 2), "float32"), start_index=3)  # positions 3, 4 of 0 .. 3
    with pytest.raises(ValueError, match="start_index"):
        layer(np.zeros((1, 2, 2), "float32"), start_index=-1)
    layer(np.zeros((1, 2, 2), "float32"), start_index=2)  # positions 2, 3: fine


def test_config_round_trip():
    layer = PositionEmbedding(sequence_length=7, initializer="he_normal")
    clone = PositionEmbedding.from_config(layer.get_config())
    assert clone.sequence_length == 7
    assert isinstance(clone.initializer, keras.initializers.HeNormal)
    x = np.zeros((1, 7, 3), "float32")
    layer.build(x.shape)
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), layer(x))


def test_saving(tmp_path):
    inputs = keras.Input((5, 4))
    outputs = keras.layers.Add()([inputs, PositionEmbedding(sequence_length=8)(inputs)])
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_jit_compile_matches_eager(xla):
    layer = PositionEmbedding(sequence_length=8)
    x = np.zeros((2, 5, 4), "float32")
    eager = layer(x, start_index=2)
    compiled = xla(lambda y: layer(y, start_index=2))
    np.testing.assert_allclose(compiled(x), eager, atol=1e-6)


class PositionEmbeddingLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            PositionEmbedding,
            init_kwargs={"sequence_length": 6},
            input_shape=(2, 5, 8),
            expected_output_shape=(2, 5, 8),
            expected_num_trainable_weights=1,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            expected_num_losses=0,
            supports_masking=True,
        )


def test_explicit_positions_are_table_rows():
    layer = PositionEmbedding(sequence_length=7)
    x = np.zeros((2, 3, 4), "float32")
    layer(x)
    table = keras.ops.convert_to_numpy(layer.position_embeddings)
    positions = np.array([[6, 0, 2], [1, 1, 5]])
    out = keras.ops.convert_to_numpy(layer(x, positions=positions))
    np.testing.assert_allclose(out, table[positions], atol=0)
