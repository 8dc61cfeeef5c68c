"""Tests of `transformer_keras.text.classification`: the end-to-end classifier equals the
vectorizer then the classifier, shares its weights, round-trips through `.keras`, and rejects
mismatched parts."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.models import build_text_classifier
from transformer_keras.text import build_end_to_end_classifier, make_text_vectorizer

pytestmark = pytest.mark.tf_only


def _softmax(x):
    x = np.asarray(x, dtype="float64")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def classifier_parts():
    keras.utils.set_random_seed(0)
    corpus = ["a good film", "a bad film", "good acting", "bad plot", "the music was fine"]
    vectorizer = make_text_vectorizer(corpus, sequence_length=6)
    classifier = build_text_classifier(
        50, 3, sequence_length=6, embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0
    )
    return vectorizer, classifier


def test_end_to_end_classifier_equals_vectorizer_then_classifier(classifier_parts):
    vectorizer, classifier = classifier_parts
    model = build_end_to_end_classifier(classifier, vectorizer, ["neg", "neu", "pos"])
    texts = ["a good film", "bad plot!", "never seen words", ""]
    outputs = model(tf.constant(texts))
    token_ids = vectorizer(tf.constant(texts)).numpy().astype("int32")
    expected = _softmax(classifier(token_ids).numpy())
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-6)
    np.testing.assert_array_equal(outputs["label_id"].numpy(), expected.argmax(-1))
    names = np.array(["neg", "neu", "pos"])[expected.argmax(-1)]
    assert [label.decode() for label in outputs["label"].numpy()] == names.tolist()
    assert set(model.output) == {"probabilities", "label_id", "label"}
    assert model.input.dtype == "string" and tuple(model.input.shape) == (None,)


def test_end_to_end_classifier_shares_weights(classifier_parts):
    vectorizer, classifier = classifier_parts
    model = build_end_to_end_classifier(classifier, vectorizer, ["neg", "neu", "pos"])
    before = model(tf.constant(["a good film"]))["probabilities"].numpy()
    dense = classifier.get_layer("logits")
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
    try:
        dense.bias.assign(bias + np.array([0.0, 0.0, 5.0], "float32"))
        after = model(tf.constant(["a good film"]))["probabilities"].numpy()
    finally:
        dense.kernel.assign(kernel)
        dense.bias.assign(bias)
    # Adding 5 to the last logit multiplies its odds against each other class by e^5.
    odds_before = before[0, 2] / before[0, 0]
    np.testing.assert_allclose(after[0, 2] / after[0, 0], odds_before * np.exp(5.0), rtol=1e-4)
    assert {id(w) for w in classifier.weights} <= {id(w) for w in model.weights}


def test_end_to_end_classifier_keras_round_trip(classifier_parts, tmp_path):
    vectorizer, classifier = classifier_parts
    model = build_end_to_end_classifier(classifier, vectorizer, ["neg", "neu", "pos"])
    path = str(tmp_path / "end_to_end.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    texts = tf.constant(["a good film", "bad plot", "unknown words here"])
    expected, got = model(texts), loaded(texts)
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], atol=1e-6)
    assert got["label"].numpy().tolist() == expected["label"].numpy().tolist()
    assert loaded.get_layer("class_name_lookup").class_names == ["neg", "neu", "pos"]


def test_end_to_end_classifier_rejects_mismatches(classifier_parts):
    vectorizer, classifier = classifier_parts
    with pytest.raises(ValueError, match="class_names"):
        build_end_to_end_classifier(classifier, vectorizer, ["neg", "pos"])
    longer = make_text_vectorizer(["a b"], sequence_length=7)
    with pytest.raises(ValueError, match="output_sequence_length=7"):
        build_end_to_end_classifier(classifier, longer, ["neg", "neu", "pos"])
    big = make_text_vectorizer([" ".join(f"w{i}" for i in range(80))], sequence_length=6)
    with pytest.raises(ValueError, match="vocabulary_size >= 82"):
        build_end_to_end_classifier(classifier, big, ["neg", "neu", "pos"])
    with pytest.raises(ValueError, match="TextVectorization"):
        build_end_to_end_classifier(classifier, "not a vectorizer", ["neg", "neu", "pos"])
    with pytest.raises(ValueError, match="classifier"):
        build_end_to_end_classifier(vectorizer, vectorizer, ["neg", "neu", "pos"])
