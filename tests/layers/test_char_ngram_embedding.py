"""Tests for transformer_keras.layers.CharNgramEmbedding: the mean of n-gram embeddings."""

import keras
import numpy as np
import pytest

from transformer_keras.layers import CharNgramEmbedding


def test_char_ngram_embedding_is_the_mean_of_present_ngrams(tmp_path):
    keras.utils.set_random_seed(0)
    layer = CharNgramEmbedding(num_buckets=10, embedding_dim=4, scale=True)
    ids = np.array([[[2, 5, 0], [3, 0, 0], [0, 0, 0]]], "int32")
    out = keras.ops.convert_to_numpy(layer(ids))
    table = keras.ops.convert_to_numpy(layer.embedding.embeddings)
    assert table.shape == (12, 4) and out.shape == (1, 3, 4)
    np.testing.assert_allclose(out[0, 0], (table[2] + table[5]) / 2 * 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], table[3] * 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[0, 2], 0.0)
    unscaled = CharNgramEmbedding(10, 4, scale=False)
    unscaled(ids)
    unscaled.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(unscaled(ids)), out / 2.0, rtol=1e-6)

    inputs = keras.Input((3, 3), dtype="int32")
    model = keras.Model(inputs, CharNgramEmbedding(10, 4, name="chars")(inputs))
    path = tmp_path / "chars.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert restored.get_layer("chars").get_config()["num_buckets"] == 10
    with pytest.raises(ValueError, match="num_buckets"):
        CharNgramEmbedding(0, 4)
    with pytest.raises(ValueError, match="inputs"):
        CharNgramEmbedding(10, 4)(np.zeros((2, 3), "int32"))
