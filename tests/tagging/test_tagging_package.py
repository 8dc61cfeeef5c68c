"""Tests for the transformer_keras.tagging package: its exports, and its arrays feeding
the token classifier."""

import keras
import numpy as np
import pytest

from transformer_keras import tagging
from transformer_keras.tagging import (
    char_ngram_ids,
    encode_token_features,
    fit_token_features,
)


def test_module_exports():
    for name in tagging.__all__:
        assert hasattr(tagging, name), name


def _sub_output(model, layer_name, inputs):
    sub = keras.Model(model.input, model.get_layer(layer_name).output)
    return keras.ops.convert_to_numpy(sub(inputs))


def test_token_classifier_with_scaled_features_and_char_ngrams(tmp_path):
    from transformer_keras.models import build_token_classifier

    keras.utils.set_random_seed(0)
    sentences = [["John", "lives", "in", "Paris"], ["hi"]]
    vocabularies = fit_token_features(sentences, features=("word", "shape"))
    inputs = encode_token_features(sentences, vocabularies, 5)
    inputs["char_ngrams"] = char_ngram_ids(sentences, 5, num_buckets=50, max_ngrams=8)
    model = build_token_classifier(
        len(vocabularies["word"]),
        num_tags=4,
        sequence_length=5,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        dropout=0.0,
        feature_vocabulary_sizes={"shape": len(vocabularies["shape"])},
        scale_feature_embeddings=True,
        char_ngram_buckets=50,
    )
    assert set(model.input) == {"token_ids", "shape", "char_ngrams"}
    # The shape embedding starts at the token embedding's scale: N(0, 1/d) times sqrt(d).
    table = keras.ops.convert_to_numpy(model.get_layer("shape_embedding").embeddings)
    assert 0.15 < table.std() < 0.35  # 16 ** -0.5 = 0.25
    np.testing.assert_allclose(
        _sub_output(model, "scale_shape", inputs), table[inputs["shape"]] * 4.0, rtol=1e-6
    )
    # The character n-gram embedding is added on top of the word and shape embeddings.
    before = _sub_output(model, "add_shape", inputs)
    ngrams = keras.ops.convert_to_numpy(
        model.get_layer("char_ngram_embedding")(inputs["char_ngrams"])
    )
    np.testing.assert_allclose(
        _sub_output(model, "add_char_ngrams", inputs), before + ngrams, rtol=1e-5, atol=1e-6
    )
    logits = keras.ops.convert_to_numpy(model(inputs))
    # N-gram ids at padded positions do not reach the real tokens.
    changed = dict(inputs, char_ngrams=inputs["char_ngrams"].copy())
    changed["char_ngrams"][1, 1:] = 7
    real = inputs["token_ids"] != 0
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(changed))[real], logits[real], rtol=1e-5, atol=1e-6
    )
    path = tmp_path / "tagger.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(inputs, verbose=0), logits, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="char_ngram_buckets"):
        build_token_classifier(10, 3, 5, embedding_dim=8, num_heads=2, char_ngram_buckets=0)
    with pytest.raises(ValueError, match="char_ngrams"):
        build_token_classifier(
            10,
            3,
            5,
            embedding_dim=8,
            num_heads=2,
            feature_vocabulary_sizes={"char_ngrams": 4},
            char_ngram_buckets=5,
        )


def test_char_ngram_embedding_is_re_exported_from_its_home_in_layers():
    from transformer_keras import layers

    assert tagging.CharNgramEmbedding is layers.CharNgramEmbedding
    assert tagging.CharNgramEmbedding.__module__ == "transformer_keras.layers.char_ngram_embedding"
    name = keras.saving.get_registered_name(tagging.CharNgramEmbedding)
    assert name == "transformer_keras>CharNgramEmbedding"
